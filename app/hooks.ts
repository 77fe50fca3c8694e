/**
 * Lifecycle hooks (HOOKS_MODULE): edit these, or delete the ones you don't need.
 * `setup` runs once at start, before any worker; `onStart` runs in every worker before it listens,
 * `onShutdown` after its server has stopped; `extras` are non-HTTP processes the primary runs
 * beside the workers.
 */
import type { ExtraProcess, FleetWorker, SetupContext, StopReason } from "../workers/fleet.ts";
import type { AppConfig } from "./config.ts";
import { settings } from "./config.ts";
import { closeDb, databaseTarget, dbIfOpen, openDb } from "./db/index.ts";
import { migrate } from "./db/migrate.ts";
import { jobs as appJobs } from "./jobs/index.ts";
import { jobsOverview, queueCounts } from "./jobs/overview.ts";
import { enqueued } from "./jobs/queue.ts";
import { schedulesOf } from "./jobs/schedules.ts";

/** The app's settings (app/config.ts): read and checked at start, `worker.config`. */
export { settings };

/**
 * Job processes (JOBS_PROCESSES, app/config.ts): read here from the environment because
 * `extras` is declared before the settings are parsed (the same schema checks it at start).
 */
const jobProcesses = settings.shape.JOBS_PROCESSES.safeParse(process.env.JOBS_PROCESSES);

/** Extra processes: started with the fleet, respawned on crash, stopped in the same drain. */
export const extras: ExtraProcess[] = [
  {
    name: "jobs",
    module: import.meta.resolve("./jobs/process.ts"),
    instances: jobProcesses.success ? jobProcesses.data : 1,
  },
].filter((extra) => extra.instances > 0);

/**
 * The extras whose processes open a database client: each instance counts against
 * DB_MAX_CONNECTIONS like a worker. Add an extra's name here when it uses `db()` (the job
 * processes do).
 */
const DATABASE_EXTRAS = new Set<string>(["jobs"]);

/** Extra processes that open a database client (every instance of the extras named above). */
const dbExtras = extras
  .filter((extra) => DATABASE_EXTRAS.has(extra.name))
  .reduce((sum, extra) => sum + (extra.instances ?? 1), 0);

/**
 * Runs once before any worker starts (in a short-lived process the primary waits for); what it returns (plain JSON) reaches every
 * worker. Here: apply the pending migrations (the primary keeps no connection afterwards) and
 * split the PostgreSQL connection budget across the processes.
 */
export async function setup({ config, workers, log, invalid }: SetupContext<AppConfig>) {
  const target = databaseTarget(config);
  const { applied, maxConnections } = await migrate(target, {
    log: (line) => log.info(line),
    lockTimeoutMs: config.DB_LOCK_TIMEOUT_MS,
  });
  log.info(
    `database ${target.dialect} ${target.shown}: ${applied.length ? `${applied.length} migration(s) applied` : "schema up to date"}`,
  );
  // PostgreSQL: DB_MAX_CONNECTIONS is the whole fleet's budget. At most one process more than
  // the fleet has runs at any instant (a reload or recycle waits for the retiring worker to exit,
  // its pool closed in onShutdown, before the next slot; a crashed one's sessions end with it;
  // a scale-up by one takes the spare), so each gets budget / (processes + 1).
  const budget = config.DB_MAX_CONNECTIONS;
  const processes = workers + dbExtras + 1;
  const poolMax = Math.floor(budget / processes);
  // Behind a transaction pooler (DB_POOLER=transaction) the budget counts connections to the
  // pooler; the server's sessions are the pooler's to bound (its pool size), not ours.
  const pooled = config.DB_POOLER === "transaction";
  if (target.dialect === "postgres") {
    if (pooled && target.prepare) {
      log.warn(
        "DB_POOLER=transaction without ?prepare=false on DATABASE_URL: a pooler without prepared-statement support (PgBouncer before 1.21) fails the first queries",
      );
    }
    if (!pooled && maxConnections !== null && budget > maxConnections) {
      invalid(
        `DB_MAX_CONNECTIONS=${budget} is above the server's max_connections (${maxConnections}) at ${target.shown}: lower it, or raise max_connections`,
      );
    }
    const extraProcesses = dbExtras ? ` + ${dbExtras} extra process(es)` : "";
    if (poolMax < 1) {
      invalid(
        `DB_MAX_CONNECTIONS=${budget} leaves no connection per process: ${workers} worker(s)${extraProcesses} + 1 for the reload overlap need at least ${processes}`,
      );
    }
    log.info(
      `PostgreSQL budget ${budget} connections${pooled ? " to the pooler" : ""}: ${poolMax} per process x (${workers} workers${extraProcesses} + 1 during reloads)`,
    );
  }
  return {
    startedAt: new Date().toISOString(),
    database: { dialect: target.dialect, shown: target.shown },
    poolMax: Math.max(1, poolMax),
  };
}

/** The setup result as workers see it (`worker.setup`). */
export type Setup = Awaited<ReturnType<typeof setup>>;

/** The worker as the app sees it, with this app's setup result and settings. */
export type AppWorker = FleetWorker<null, Setup, AppConfig>;

/**
 * Runs in each worker before it listens: no request (nor /readyz) reaches it until this
 * resolves, so routes may call `db()` unchecked. A throw fails the boot: a database that is down
 * at start stops the fleet (exit 3) with one line naming it.
 */
export async function onStart(worker: AppWorker): Promise<void> {
  await openDb(databaseTarget(worker.config), {
    max: worker.setup.poolMax,
    applicationName: `bun-fleet worker ${worker.index} pid ${worker.pid}`,
    statementTimeoutMs: worker.config.DB_STATEMENT_TIMEOUT_MS,
    log: worker.log,
  });
}

/** Runs in each worker after its server has stopped, within the shutdown deadline. */
export async function onShutdown(
  _reason: StopReason,
  worker: AppWorker,
  deadline: number,
): Promise<void> {
  if (!(await closeDb(deadline))) worker.log.warn("database client did not close by the deadline");
}

/**
 * This worker's own numbers for /admin/status (`app`) and /metrics (`app_*{worker}`): which
 * database (the dialect, never the URL), its queries and errors so far, the jobs it enqueued,
 * and (worker 0) the queue's depth.
 */
export function stats(worker: AppWorker): Record<string, number | string> {
  const db = dbIfOpen();
  if (!db) return {};
  // The queue's depth is the deployment's, not this worker's: worker 0 alone reports it.
  if (worker.index === 0) refreshQueueGauges();
  return {
    database: db.dialect,
    db_queries_total: db.stats.queries,
    db_errors_total: db.stats.errors,
    jobs_enqueued_total: enqueued.total,
    ...(worker.index === 0 ? queueGauges : {}),
  };
}

/** Queue counts as worker 0 last read them (refreshed at most every 2 s, off the request path). */
let queueGauges: Record<string, number> = {};
let gaugesReadAt = 0;

function refreshQueueGauges(): void {
  if (Date.now() - gaugesReadAt < 2000) return;
  gaugesReadAt = Date.now();
  queueCounts().then(
    (queues) => {
      const total = (key: "queued" | "running" | "failed") =>
        queues.reduce((sum, q) => sum + q[key], 0);
      queueGauges = {
        jobs_queued: total("queued"),
        jobs_running: total("running"),
        jobs_failed: total("failed"),
      };
    },
    () => {},
  );
}

/**
 * `GET /admin/jobs`: the queues and each schedule's recent runs, read from the database (the
 * same answer from every worker of every host).
 */
export function jobs(worker: AppWorker) {
  return jobsOverview(schedulesOf(appJobs, worker.config));
}
