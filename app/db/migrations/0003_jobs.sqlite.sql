-- The job queue (app/jobs/queue.ts), SQLite's version. Times are epoch milliseconds (integers).
-- status: queued → running → done | failed (running → queued again on a retry or a release).
create table jobs (
  id integer primary key,
  queue text not null default 'default',
  name text not null,
  payload text not null,
  status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
  attempts integer not null default 0,
  max_attempts integer not null,
  run_at integer not null,
  locked_by text,
  locked_until integer,
  host text,
  pid integer,
  started_at integer,
  finished_at integer,
  result text,
  error text,
  created_at integer not null
);
-- What a job process claims: the oldest due job, and a running one whose lease ran out.
create index jobs_due on jobs (status, run_at);
create index jobs_lease on jobs (status, locked_until);
-- One row per (schedule, tick), whoever claims it first: the tick's uniqueness across every
-- process of every host. The job it enqueued does the work.
create table job_schedule_runs (
  schedule text not null,
  scheduled_at integer not null,
  job_id integer not null,
  primary key (schedule, scheduled_at)
);
