/**
 * The loop of one job process (infrastructure: app/jobs/README.md): claims due jobs up to its
 * concurrency, runs their handlers, renews their leases, recovers the leases of dead processes,
 * and on a stop drains: a running job finishes by the shutdown deadline, or its handler is
 * aborted and, once it has returned, the job is released to run again later.
 */
import type { FleetLog } from "../../workers/fleet.ts";
import type { AppConfig } from "../config.ts";
import { DatabaseUnavailable, db } from "../db/index.ts";
import { Completions } from "./completions.ts";
import {
  type Claimed,
  claim,
  complete,
  fail,
  type Job,
  type JobContext,
  prune,
  recoverExpired,
  release,
  renew,
} from "./queue.ts";

export interface RunnerOptions {
  jobs: Job[];
  config: AppConfig;
  log: FleetLog;
  /** Aborted when the process must stop. */
  signal: AbortSignal;
  /** Once `signal` is aborted: the shutdown deadline (epoch ms). */
  deadline: () => number;
}

/** Counters for this process (the job process logs them; /admin/jobs reads the table). */
export interface RunnerStats {
  done: number;
  failed: number;
  retried: number;
  released: number;
}

interface Running {
  job: Claimed;
  abort: AbortController;
  /** Set when a stop aborted the handler: the job is released, not failed. */
  stopping: boolean;
  done: Promise<void>;
}

/** A job this process does not know is due again after this long (another process may). */
const UNKNOWN_JOB_DELAY_MS = 10_000;

/** How often finished jobs older than a day are deleted (any process may, all may). */
const PRUNE_EVERY_MS = 60_000;
const KEEP_FINISHED_MS = 86_400_000;

/** Runs jobs until `signal` aborts, then drains; resolves when nothing is left running. */
export async function runJobs(options: RunnerOptions): Promise<RunnerStats> {
  const { config, log, signal } = options;
  const byName = new Map(options.jobs.map((job) => [job.name, job]));
  const concurrency = config.JOBS_CONCURRENCY;
  const leaseMs = config.JOBS_LEASE_MS;
  const stats: RunnerStats = { done: 0, failed: 0, retried: 0, released: 0 };
  const running = new Map<number, Running>();
  const completions = new Completions();
  let wake: (() => void) | null = null;
  const nudge = () => wake?.();
  signal.addEventListener("abort", nudge, { once: true });

  const start = (job: Claimed) => {
    const abort = new AbortController();
    const entry: Running = { job, abort, stopping: false, done: Promise.resolve() };
    entry.done = execute(entry).finally(() => {
      running.delete(job.id);
      nudge();
    });
    running.set(job.id, entry);
  };

  const execute = async (entry: Running): Promise<void> => {
    const { job } = entry;
    const definition = byName.get(job.name);
    if (!definition) {
      // Another version of the app (a host not yet deployed, or already) may know it: put it back.
      log.warn(
        `job ${job.name} #${job.id}: not in this process's jobs (app/jobs/index.ts); released`,
      );
      await release(job.id, UNKNOWN_JOB_DELAY_MS).catch(() => {});
      return;
    }
    let payload: unknown;
    try {
      payload = definition.payload.parse(JSON.parse(job.payload));
    } catch (error) {
      const message = `its payload does not parse: ${(error as Error).message}`;
      await fail(job, message, 0, true).catch(() => {});
      stats.failed += 1;
      log.error(`job ${job.name} #${job.id}: ${message} (failed for good)`);
      return;
    }
    try {
      const context = (sql: JobContext["sql"]): JobContext => ({
        id: job.id,
        attempt: job.attempts,
        signal: entry.abort.signal,
        log,
        config,
        sql,
      });
      if (definition.atomic) {
        await db().transaction(async (tx) => {
          const result = await definition.run(payload, context(tx));
          if (!(await complete(tx, job.id, result))) throw new LeaseLost();
        });
      } else {
        const result = await definition.run(payload, context(null));
        if (!(await completions.add(job.id, result))) throw new LeaseLost();
      }
      stats.done += 1;
    } catch (error) {
      if (error instanceof LeaseLost) {
        log.warn(`job ${job.name} #${job.id}: its lease was lost; another process owns it now`);
        return;
      }
      if (entry.stopping) {
        await release(job.id).catch((e) => log.warn(`release #${job.id}: ${e}`));
        stats.released += 1;
        log.info(`job ${job.name} #${job.id} released at stop (runs again later)`);
        return;
      }
      const message = error instanceof Error ? error.message || error.name : String(error);
      const status = await fail(job, message, config.JOBS_RETRY_BASE_MS).catch((e) => {
        log.warn(`job ${job.name} #${job.id}: could not record its failure: ${e}`);
        return null;
      });
      if (status === "failed") stats.failed += 1;
      if (status === "queued") stats.retried += 1;
      log[status === "failed" ? "error" : "warn"](
        `job ${job.name} #${job.id} attempt ${job.attempts}/${job.maxAttempts} threw: ${message}${status === "failed" ? " (failed for good)" : "; retried later"}`,
      );
    }
  };

  const renewer = setInterval(
    () => {
      if (running.size === 0) return;
      renew(leaseMs).then(
        (held) => {
          for (const [id, entry] of running) if (!held.has(id)) entry.abort.abort(new LeaseLost());
        },
        (error) => log.warn(`lease renewal failed: ${error}`),
      );
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  );
  let lastHousekeeping = 0;
  let lastPrune = Date.now();
  try {
    while (!signal.aborted) {
      const now = Date.now();
      try {
        if (now - lastHousekeeping >= leaseMs / 2) {
          lastHousekeeping = now;
          const recovered = await recoverExpired();
          if (recovered) log.warn(`${recovered} job(s) whose process died queued again`);
        }
        if (now - lastPrune >= PRUNE_EVERY_MS) {
          lastPrune = now;
          await prune(KEEP_FINISHED_MS);
        }
        const free = concurrency - running.size;
        const claimed = free > 0 ? await claim(free, leaseMs) : [];
        for (const job of claimed) start(job);
        // Claimed a full batch: more may be due, claim again at once.
        if (claimed.length > 0 && claimed.length === free) continue;
      } catch (error) {
        // An outage is logged once by the client (app/db/client.ts), not at every poll.
        if (!(error instanceof DatabaseUnavailable))
          log.warn(`job queue: ${(error as Error).message}`);
      }
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.JOBS_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    await drain(running, options.deadline(), log);
  } finally {
    clearInterval(renewer);
  }
  return stats;
}

/**
 * Lets the running jobs finish until shortly before `deadline`; then aborts their handlers and
 * waits (until the deadline) for each to return, so that it is released only once stopped.
 */
async function drain(running: Map<number, Running>, deadline: number, log: FleetLog) {
  if (running.size === 0) return;
  const all = () => Promise.all([...running.values()].map((entry) => entry.done));
  const left = Math.max(0, deadline - Date.now());
  // Keep a margin to abort, let handlers return and release: a quarter, at most 2 s.
  const margin = Math.min(2000, left / 4);
  log.info(`waiting for ${running.size} running job(s)`);
  if (await within(all(), left - margin)) return;
  for (const entry of running.values()) {
    entry.stopping = true;
    entry.abort.abort(new Error("the job process is stopping"));
  }
  if (!(await within(all(), Math.max(0, deadline - Date.now() - 50)))) {
    log.warn(
      `${running.size} job handler(s) ignored their abort signal: their leases expire and they run again`,
    );
  }
}

/** True when `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: Timer | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The lease moved to another process (this one was too slow to renew it). */
class LeaseLost extends Error {}
