/**
 * The app's own settings: edit freely. Each key is an env variable; the primary reads them once
 * at start, checks them with this schema before any process starts (a bad value stops the start
 * with exit 2 and one line naming the setting), lists them in `--help`, and hands the parsed
 * values to every worker as `worker.config` (and to extras as `config`). Add `STRIPE_KEY` here
 * and it gets the same treatment. Values are never printed: they may be secrets.
 */
import { z } from "zod";
import { parseDatabaseUrl } from "./db/url.ts";
import { cronProblem } from "./jobs/cron.ts";

export const settings = z.object({
  DATABASE_URL: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      const target = parseDatabaseUrl(value);
      if ("error" in target) ctx.addIssue({ code: "custom", message: target.error });
    })
    .describe(
      "sqlite://PATH or file:PATH (a SQLite file), postgres:// or postgresql:// (PostgreSQL); unset: SQLite at data/app.db",
    ),
  DB_MAX_CONNECTIONS: z.coerce
    .number()
    .int()
    .min(2)
    .max(100_000)
    .default(20)
    .describe(
      "PostgreSQL: the fleet's whole connection budget, reload overlap included; each process gets floor(budget / (WORKERS + JOBS_PROCESSES + 1)); must not exceed the server's max_connections",
    ),
  DB_POOLER: z
    .enum(["none", "transaction"])
    .default("none")
    .describe(
      "PostgreSQL: transaction when DATABASE_URL is a pooler in transaction mode (PgBouncer; with ?prepare=false): DB_MAX_CONNECTIONS then counts connections to the pooler and is not checked against the server's max_connections",
    ),
  DB_LOCK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .default(60_000)
    .describe(
      "how long a start or bun run migrate waits for the migration lock (logging its holder every 5 s), then exits 3 naming it; SQLite: how long a migration waits for the write lock",
    ),
  DB_STATEMENT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(5000)
    .describe(
      "a query or transaction still running after this long is cancelled and answered 503 (SQLite: the longest wait for another process's write lock); 0: no limit",
    ),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
    .optional()
    .describe(
      "the app's Redis (app/redis.ts): the rate limit's store shared by every host; unset: the limit holds per host",
    ),
  RATE_LIMIT_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000_000)
    .default(0)
    .describe(
      "requests per minute per client address on /api/* for the whole fleet (with REDIS_URL, for every host); beyond it 429 + Retry-After; 0 = off",
    ),
  JOBS_PROCESSES: z.coerce
    .number()
    .int()
    .min(0)
    .max(64)
    .default(1)
    .describe(
      "job processes the fleet runs beside the workers (app/jobs/process.ts); 0: none, jobs wait in the queue",
    ),
  JOBS_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(4)
    .describe("jobs each job process runs at once"),
  JOBS_POLL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(200)
    .describe(
      "how often an idle job process looks for due jobs (no LISTEN/NOTIFY: works through PgBouncer)",
    ),
  JOBS_LEASE_MS: z.coerce
    .number()
    .int()
    .min(300)
    .max(3_600_000)
    .default(30_000)
    .describe(
      "how long a claimed job stays its process's without renewal (renewed every third of it); a dead process's jobs run again after it",
    ),
  JOBS_RETRY_BASE_MS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3_600_000)
    .default(1000)
    .describe("first retry delay of a failed job; doubled each attempt (±20%), at most an hour"),
  PURGE_DONE_CRON: z
    .string()
    .default("0 * * * *")
    .superRefine((value, ctx) => {
      const problem = cronProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .describe(
      "when the demo schedule purge-done-todos runs: cron, 5 fields or 6 with seconds first, UTC",
    ),
  PURGE_DONE_AFTER_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_153_600_000)
    .default(604_800)
    .describe("purge-done-todos deletes done todos last updated longer ago than this"),
});

/** The parsed settings, as `worker.config` holds them. */
export type AppConfig = z.output<typeof settings>;
