/**
 * The job process (an extra in app/hooks.ts, JOBS_PROCESSES of them): opens its own database
 * client, runs the queue (app/jobs/runner.ts) and the schedules (app/jobs/schedules.ts) until
 * the fleet stops or reloads it, then drains and closes.
 */
import type { ExtraContext } from "../../workers/fleet.ts";
import type { AppConfig } from "../config.ts";
import { closeDb, databaseTarget, openDb } from "../db/index.ts";
import type { Setup } from "../hooks.ts";
import { jobs as appJobs } from "./index.ts";
import type { Job } from "./queue.ts";
import { runJobs } from "./runner.ts";
import { runSchedules, schedulesOf } from "./schedules.ts";

/** Runs `jobs` in this process until its signal aborts (tests pass jobs of their own). */
export async function jobProcess(context: ExtraContext<Setup, AppConfig>, jobs: Job[]) {
  const { config, setup, log, signal, index } = context;
  await openDb(databaseTarget(config), {
    max: setup.poolMax,
    applicationName: `bun-fleet jobs ${index} pid ${process.pid}`,
    log,
  });
  try {
    const schedules = schedulesOf(jobs, config);
    const [stats] = await Promise.all([
      runJobs({ jobs, config, log, signal, deadline: () => context.deadline }),
      runSchedules(schedules, { log, signal }),
    ]);
    log.info(
      `stopped: ${stats.done} done, ${stats.retried} retried, ${stats.failed} failed, ${stats.released} released`,
    );
  } finally {
    const deadline = Number.isFinite(context.deadline) ? context.deadline : Date.now() + 5000;
    if (!(await closeDb(Math.max(Date.now() + 100, deadline)))) {
      log.warn("database client did not close by the deadline");
    }
  }
}

export default function jobs(context: ExtraContext<Setup, AppConfig>) {
  return jobProcess(context, appJobs);
}
