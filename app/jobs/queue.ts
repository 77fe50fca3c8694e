/**
 * The job queue on the app's own database (infrastructure: app/jobs/README.md). A job is a row
 * of `jobs` (migration 0003): enqueued with the data it goes with, in the same transaction;
 * claimed by a job process with a lease it renews while the handler runs; done, retried with
 * backoff, or `failed` with its error after its last attempt. Plain statements only (no
 * LISTEN/NOTIFY, no session locks): it works through PgBouncer in transaction mode.
 */
import { hostname } from "node:os";
import type { z } from "zod";
import type { FleetLog } from "../../workers/fleet.ts";
import type { AppConfig } from "../config.ts";
import { type Db, db } from "../db/index.ts";

/** The client a `query` / `transaction` callback receives (either dialect). */
export type Sql = Parameters<Parameters<Db["query"]>[0]>[0];

export type JobStatus = "queued" | "running" | "done" | "failed";

/** What a handler receives beside its payload. */
export interface JobContext {
  id: number;
  /** 1 on the first run. */
  attempt: number;
  /** Aborted when the process must stop and the deadline is near, or the lease was lost. */
  signal: AbortSignal;
  log: FleetLog;
  config: AppConfig;
  /** Atomic jobs only: the transaction the job's completion commits in (null otherwise). */
  sql: Sql | null;
}

/** A job module's definition (`defineJob`). */
export interface JobOptions<P extends z.ZodType> {
  name: string;
  payload: P;
  run: (payload: z.output<P>, ctx: JobContext) => Promise<unknown> | unknown;
  /** Runs in all (the first included); default 5. */
  maxAttempts?: number;
  /**
   * Run the handler in one transaction with the job's completion (`ctx.sql`): its writes and
   * `done` commit together or not at all. For short jobs (SQLite serialises writers meanwhile).
   */
  atomic?: boolean;
  /** A schedule: cron with optional seconds, in UTC; a tick enqueues this job with `{}`. */
  cron?: string | ((config: AppConfig) => string);
}

export interface Job<P extends z.ZodType = z.ZodType>
  extends Required<Omit<JobOptions<P>, "cron">> {
  cron: JobOptions<P>["cron"] | null;
  /** Validates the payload and inserts the job; with `tx`, in that transaction. Returns its id. */
  enqueue(payload: z.input<P>, options?: { tx?: Sql; runAt?: number }): Promise<number>;
}

/** Jobs enqueued by this process (for /metrics). */
export const enqueued = { total: 0 };

/** Declares a job (a module in app/jobs/ exports it; app/jobs/index.ts lists it). */
export function defineJob<P extends z.ZodType>(options: JobOptions<P>): Job<P> {
  const job: Job<P> = {
    maxAttempts: 5,
    atomic: false,
    ...options,
    cron: options.cron ?? null,
    enqueue: async (payload, { tx, runAt } = {}) => {
      const body = JSON.stringify(job.payload.parse(payload));
      const insert = (sql: Sql) => insertJob(sql, job, body, runAt ?? Date.now());
      const id = await (tx ? insert(tx) : db().query(insert));
      enqueued.total += 1;
      return id;
    },
  };
  return job;
}

/** Inserts one job row; its id. */
export async function insertJob(
  sql: Sql,
  job: Pick<Job, "name" | "maxAttempts">,
  payload: string,
  runAt: number,
): Promise<number> {
  const [row] = await sql`
    insert into jobs (name, payload, status, attempts, max_attempts, run_at, created_at)
    values (${job.name}, ${payload}, 'queued', 0, ${job.maxAttempts}, ${runAt}, ${Date.now()})
    returning id`;
  return Number(row.id);
}

/** Retry delay after failed attempt `attempt` (1-based): base · 2^(attempt-1), capped, ±jitter. */
export function backoffMs(
  attempt: number,
  baseMs: number,
  { maxMs = 3_600_000, jitter = 0.2, random = Math.random } = {},
): number {
  const plain = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(plain * (1 + jitter * (2 * random() - 1)));
}

/** One claimed job, as the runner holds it. */
export interface Claimed {
  id: number;
  name: string;
  payload: string;
  attempts: number;
  maxAttempts: number;
}

/** This process's name on the rows it holds: host, pid and a nonce (a pid can be reused). */
export const HOST = hostname();
export const WORKER_TOKEN = `${HOST}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;

/**
 * Claims up to `limit` due jobs for this process, leased until now + `leaseMs`. PostgreSQL skips
 * rows another claim holds (SKIP LOCKED); SQLite runs one write at a time anyway.
 */
export async function claim(limit: number, leaseMs: number): Promise<Claimed[]> {
  const now = Date.now();
  const d = db();
  const rows = await d.query((sql) =>
    d.dialect === "postgres"
      ? sql`
        update jobs set status = 'running', attempts = attempts + 1, locked_by = ${WORKER_TOKEN},
          locked_until = ${now + leaseMs}, host = ${HOST}, pid = ${process.pid}, started_at = ${now}
        where id in (select id from jobs where status = 'queued' and run_at <= ${now}
                     order by run_at, id limit ${limit} for update skip locked)
        returning id, name, payload, attempts, max_attempts`
      : sql`
        update jobs set status = 'running', attempts = attempts + 1, locked_by = ${WORKER_TOKEN},
          locked_until = ${now + leaseMs}, host = ${HOST}, pid = ${process.pid}, started_at = ${now}
        where id in (select id from jobs where status = 'queued' and run_at <= ${now}
                     order by run_at, id limit ${limit})
        returning id, name, payload, attempts, max_attempts`,
  );
  return (rows as Record<string, unknown>[]).map((row) => ({
    id: Number(row.id),
    name: String(row.name),
    payload: String(row.payload),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
  }));
}

/** Marks a job done (only while this process holds it); false when its lease was lost. */
export async function complete(sql: Sql, id: number, result: unknown): Promise<boolean> {
  const rows = await sql`
    update jobs set status = 'done', result = ${JSON.stringify(result ?? null)},
      finished_at = ${Date.now()}, locked_by = null, locked_until = null, error = null
    where id = ${id} and locked_by = ${WORKER_TOKEN} and status = 'running'
    returning id`;
  return rows.length === 1;
}

/**
 * A failed attempt: queued again after the backoff, or `failed` for good after the last one
 * (or at once when `final`: a payload that does not parse never will).
 */
export async function fail(
  job: Claimed,
  error: string,
  retryBaseMs: number,
  final = false,
): Promise<JobStatus> {
  const now = Date.now();
  const last = final || job.attempts >= job.maxAttempts;
  const runAt = last ? now : now + backoffMs(job.attempts, retryBaseMs);
  await db().query(
    (sql) => sql`
      update jobs set status = ${last ? "failed" : "queued"}, error = ${error.slice(0, 4000)},
        run_at = ${runAt}, finished_at = ${last ? now : null}, locked_by = null, locked_until = null
      where id = ${job.id} and locked_by = ${WORKER_TOKEN} and status = 'running'`,
  );
  return last ? "failed" : "queued";
}

/**
 * Gives a job back unrun (a stop stopped its handler; a process that does not know the job):
 * this attempt does not count; it is due again after `delayMs`.
 */
export async function release(id: number, delayMs = 0): Promise<void> {
  await db().query(
    (sql) => sql`
      update jobs set status = 'queued', attempts = attempts - 1, run_at = ${Date.now() + delayMs},
        locked_by = null, locked_until = null
      where id = ${id} and locked_by = ${WORKER_TOKEN} and status = 'running'`,
  );
}

/** Extends the lease of every job this process holds; the ids it still holds. */
export async function renew(leaseMs: number): Promise<Set<number>> {
  const rows = await db().query(
    (sql) => sql`
      update jobs set locked_until = ${Date.now() + leaseMs}
      where locked_by = ${WORKER_TOKEN} and status = 'running'
      returning id`,
  );
  return new Set((rows as { id: unknown }[]).map((row) => Number(row.id)));
}

/**
 * Jobs whose lease ran out (their process died): queued again, or `failed` when that was their
 * last attempt. Any process may run it; the lease makes it safe (a live holder renews in time).
 */
export async function recoverExpired(): Promise<number> {
  const now = Date.now();
  const rows = await db().query(
    (sql) => sql`
      update jobs set
        status = case when attempts >= max_attempts then 'failed' else 'queued' end,
        finished_at = case when attempts >= max_attempts then ${now} else null end,
        error = 'its process stopped answering (lease expired)',
        run_at = ${now}, locked_by = null, locked_until = null
      where status = 'running' and locked_until < ${now}
      returning id`,
  );
  return rows.length;
}

/** Deletes finished jobs and schedule runs older than `keepMs` (the queue does not grow forever). */
export async function prune(keepMs: number): Promise<void> {
  const before = Date.now() - keepMs;
  await db().query((sql) => sql`delete from job_schedule_runs where scheduled_at < ${before}`);
  await db().query(
    (sql) => sql`
      delete from jobs where status in ('done', 'failed') and finished_at < ${before}`,
  );
}
