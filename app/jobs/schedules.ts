/**
 * Schedules (infrastructure: app/jobs/README.md): a job with `cron` is enqueued once per tick
 * for the whole deployment. Every job process of every host computes the same ticks (cron with
 * optional seconds, in UTC) and tries to insert (schedule, tick) into `job_schedule_runs`; the
 * primary key lets exactly one insert win, and the winner enqueues the job in the same
 * transaction (so the tick's work has the queue's lease, retries and drain).
 *
 * Missed ticks are not replayed: a process schedules from the next tick after it starts, and
 * one that wakes late runs the tick it slept for and then goes on from the next one after now.
 * Ticks while every job process was down are skipped.
 */
import type { FleetLog } from "../../workers/fleet.ts";
import type { AppConfig } from "../config.ts";
import { DatabaseUnavailable, db } from "../db/index.ts";
import { nextTick, parseCron } from "./cron.ts";
import { insertJob, type Job } from "./queue.ts";

/** A schedule as the scheduler runs it. */
export interface Schedule {
  name: string;
  cron: string;
  job: Job;
}

/** The schedules declared by `jobs` (a job with `cron`), their expressions resolved. */
export function schedulesOf(jobs: Job[], config: AppConfig): Schedule[] {
  return jobs.flatMap((job) => {
    if (!job.cron) return [];
    const cron = typeof job.cron === "function" ? job.cron(config) : job.cron;
    return [{ name: job.name, cron, job }];
  });
}

/**
 * Claims tick `scheduledAt` of `schedule` and enqueues its job; false when another process
 * (of any host) claimed it first.
 */
export async function claimTick(schedule: Schedule, scheduledAt: number): Promise<boolean> {
  return db().transaction(async (tx) => {
    const won = await tx`
      insert into job_schedule_runs (schedule, scheduled_at, job_id)
      values (${schedule.name}, ${scheduledAt}, 0)
      on conflict do nothing
      returning schedule`;
    if (won.length === 0) return false;
    const id = await insertJob(tx, schedule.job, "{}", scheduledAt);
    await tx`
      update job_schedule_runs set job_id = ${id}
      where schedule = ${schedule.name} and scheduled_at = ${scheduledAt}`;
    return true;
  });
}

/** Runs every schedule's ticks until `signal` aborts. */
export async function runSchedules(
  schedules: Schedule[],
  { log, signal }: { log: FleetLog; signal: AbortSignal },
): Promise<void> {
  await Promise.all(schedules.map((schedule) => tickLoop(schedule, log, signal)));
}

async function tickLoop(schedule: Schedule, log: FleetLog, signal: AbortSignal): Promise<void> {
  const cron = parseCron(schedule.cron);
  let tick = nextTick(cron, Date.now());
  while (tick !== null && !signal.aborted) {
    if (!(await sleepUntil(tick, signal))) return;
    try {
      await claimTick(schedule, tick);
    } catch (error) {
      // An outage is logged once by the client (app/db/client.ts); the tick is skipped.
      if (!(error instanceof DatabaseUnavailable)) {
        log.warn(`schedule ${schedule.name}: tick ${new Date(tick).toISOString()}: ${error}`);
      }
    }
    tick = nextTick(cron, Math.max(tick, Date.now()));
  }
}

/** Sleeps until `at` (epoch ms); false when `signal` aborted first. */
function sleepUntil(at: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    // Timers may fire a little early: a tick is never claimed before its time.
    const timer = setTimeout(() => done(true), Math.max(0, at - Date.now()) + 1);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
