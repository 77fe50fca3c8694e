/**
 * What `GET /admin/jobs` answers (through the hooks module's `jobs` hook): the queues' counts
 * and each schedule's recent runs, read from the database, so every worker of every host
 * answers the same.
 */
import { db } from "../db/index.ts";
import type { Schedule } from "./schedules.ts";

/** How many runs per schedule /admin/jobs lists. */
export const RUNS_LISTED = 50;

export interface QueueCounts {
  name: string;
  queued: number;
  running: number;
  failed: number;
  doneLastHour: number;
}

export interface ScheduleRun {
  scheduledAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The tick's job: queued, running, done or failed. */
  outcome: string;
  host: string | null;
  pid: number | null;
  error: string | null;
}

const iso = (ms: unknown) =>
  ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();

/** The queues' counts (queued, running, failed; done in the last hour). */
export async function queueCounts(): Promise<QueueCounts[]> {
  const hourAgo = Date.now() - 3_600_000;
  const rows = (await db().query(
    (sql) => sql`
      select queue,
        sum(case when status = 'queued' then 1 else 0 end) as queued,
        sum(case when status = 'running' then 1 else 0 end) as running,
        sum(case when status = 'failed' then 1 else 0 end) as failed,
        sum(case when status = 'done' and finished_at >= ${hourAgo} then 1 else 0 end) as done_last_hour
      from jobs group by queue order by queue`,
  )) as Record<string, unknown>[];
  const queues = rows.map((row) => ({
    name: String(row.queue),
    queued: Number(row.queued ?? 0),
    running: Number(row.running ?? 0),
    failed: Number(row.failed ?? 0),
    doneLastHour: Number(row.done_last_hour ?? 0),
  }));
  if (!queues.some((q) => q.name === "default")) {
    queues.unshift({ name: "default", queued: 0, running: 0, failed: 0, doneLastHour: 0 });
  }
  return queues;
}

/** A schedule's most recent runs, newest first. */
export async function scheduleRuns(name: string, limit = RUNS_LISTED): Promise<ScheduleRun[]> {
  const rows = (await db().query(
    (sql) => sql`
      select r.scheduled_at, j.started_at, j.finished_at, j.status, j.host, j.pid, j.error
      from job_schedule_runs r left join jobs j on j.id = r.job_id
      where r.schedule = ${name}
      order by r.scheduled_at desc limit ${limit}`,
  )) as Record<string, unknown>[];
  return rows.map((row) => ({
    scheduledAt: iso(row.scheduled_at) as string,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    outcome: row.status === null || row.status === undefined ? "pruned" : String(row.status),
    host: row.host === null || row.host === undefined ? null : String(row.host),
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
    error: row.error === null || row.error === undefined ? null : String(row.error),
  }));
}

/** The whole /admin/jobs answer. */
export async function jobsOverview(schedules: Schedule[]) {
  return {
    queues: await queueCounts(),
    schedules: await Promise.all(
      schedules.map(async (s) => ({
        name: s.name,
        cron: s.cron,
        runs: await scheduleRuns(s.name),
      })),
    ),
  };
}
