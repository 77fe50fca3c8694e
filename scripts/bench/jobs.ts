/**
 * `bun run bench:jobs`: the job queue (app/jobs/) through `bun run start`, on 127.0.0.1.
 *
 *   1. Trivial jobs/s: N no-op jobs (the test app's `noop`) put in the queue while no job
 *      process runs, then a fleet with JOBS_PROCESSES=2 drains them; the rate is N over the time
 *      from the first claim to the last completion (read from the table), on SQLite and (with a
 *      PostgreSQL server on this machine) on PostgreSQL.
 *   2. Enqueue cost on a request, paired (wrk -c16, interleaved rounds, no job process running):
 *      POST /api/reports (a transaction that inserts the job) against POST /test/reports-off
 *      (the same transaction, empty); and POST /test/todo?job=1 (insert a todo and enqueue a job
 *      in one transaction) against POST /test/todo (the todo alone): what enqueueing adds to a
 *      request that writes anyway.
 *
 * Options: `--jobs <n>` (default 20000), `--duration <s>` per wrk run (default 5), `--rounds <n>`
 * (default 3), `--concurrency <n>` JOBS_CONCURRENCY (default 4, the setting's), `--no-postgres`.
 */
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { type Postgres, postgresBin } from "../../test/helpers/postgres.ts";
import { freePort, type Group, outputOf, waitFor } from "../lib/procs.ts";
import { parseWrk, WRK_MISSING } from "./measure/wrk.ts";
import { wholeNumberFlag } from "./options.ts";
import { ROOT } from "./servers/index.ts";
import { benchSession } from "./session.ts";

const TOKEN = "bench-jobs-admin-token-0123456789";
const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => wholeNumberFlag(args, name, fallback);
const total = flag("jobs", 20_000);
const durationS = flag("duration", 5);
const rounds = flag("rounds", 3);
const concurrency = flag("concurrency", 4);
const withPostgres = !args.includes("--no-postgres");

/** The template app and hooks with the test jobs (`noop`) and the paired route. */
const FIXTURES = join(ROOT, "test", "app-fleet", "fixtures");
const APP = {
  APP_MODULE: join(FIXTURES, "jobs-app.ts"),
  HOOKS_MODULE: join(FIXTURES, "jobs-hooks.ts"),
};

const session = benchSession("jobs");
const { processes, tmp } = session;
const log = (line: string) => console.error(`bench:jobs: ${line}`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function startFleet(env: Record<string, string>): Promise<{ group: Group; url: string }> {
  const port = freePort();
  const group = processes.spawnGroup(
    [process.execPath, join(ROOT, "scripts", "start.ts")],
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: "2",
      ADMIN_TOKEN: TOKEN,
      SHUTDOWN_TIMEOUT_MS: "5000",
      ...APP,
      ...env,
    },
    ROOT,
  );
  try {
    await group.stdout.waitFor(/\bprimary pid (\d+); worker pids/, 30_000);
  } catch (error) {
    await processes.stop(group, 500);
    throw new Error(`the fleet did not start: ${(error as Error).message}\n${group.describe()}`);
  }
  return { group, url: `http://127.0.0.1:${port}` };
}

/** Applies the migrations (a fleet without job processes), then stops it. */
async function migrated(databaseUrl: string): Promise<void> {
  const fleet = await startFleet({ DATABASE_URL: databaseUrl, JOBS_PROCESSES: "0" });
  await processes.stop(fleet.group);
}

const INSERT = `insert into jobs (name, payload, status, attempts, max_attempts, run_at, created_at)
  values ('noop', '{}', 'queued', 0, 5, $1, $1)`;
const SPAN = `select count(*) as n, min(started_at) as a, max(finished_at) as b
  from jobs where name = 'noop' and status = 'done'`;

/** Drains `total` queued no-op jobs with 2 job processes; jobs/s from first claim to last done. */
async function throughput(
  databaseUrl: string,
  span: () => Promise<{ n: number; a: number; b: number }>,
) {
  const fleet = await startFleet({
    DATABASE_URL: databaseUrl,
    JOBS_PROCESSES: "2",
    JOBS_CONCURRENCY: String(concurrency),
    JOBS_POLL_MS: "50",
    DB_MAX_CONNECTIONS: "20",
  });
  try {
    const done = await waitFor(
      "every job done",
      async () => {
        const s = await span();
        return s.n >= total ? s : null;
      },
      300_000,
      200,
    );
    return (done.n * 1000) / Math.max(1, done.b - done.a);
  } finally {
    await processes.stop(fleet.group);
  }
}

async function sqliteThroughput(): Promise<number> {
  const file = join(tmp, "jobs.db");
  await migrated(`sqlite://${file}`);
  const db = new Database(file);
  const insert = db.prepare(INSERT.replace(/\$1/g, "?1"));
  db.transaction(() => {
    for (let i = 0; i < total; i++) insert.run(Date.now());
  })();
  db.close();
  return throughput(`sqlite://${file}`, async () => {
    const ro = new Database(file, { readonly: true });
    try {
      const row = ro.query(SPAN).get() as { n: number; a: number; b: number };
      return { n: Number(row.n), a: Number(row.a), b: Number(row.b) };
    } finally {
      ro.close();
    }
  });
}

async function postgresThroughput(server: Postgres): Promise<number> {
  const url = await server.url("jobs");
  await migrated(url);
  const sql = new SQL(url);
  try {
    for (let i = 0; i < total; i += 1000) {
      await sql.begin(async (tx) => {
        for (let j = i; j < Math.min(total, i + 1000); j++) await tx.unsafe(INSERT, [Date.now()]);
      });
    }
    return await throughput(url, async () => {
      const [row] = await sql.unsafe(SPAN);
      return { n: Number(row.n), a: Number(row.a), b: Number(row.b) };
    });
  } finally {
    await sql.close();
  }
}

/** wrk on POST `path`; requests/s. */
async function rps(url: string, path: string, wrk: string): Promise<number> {
  const script = join(tmp, "post.lua");
  writeFileSync(script, 'wrk.method = "POST"\n');
  const cmd = [wrk, "-t1", "-c16", `-d${durationS}s`, "--latency", "-s", script, `${url}${path}`];
  const proc = Bun.spawn(cmd, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  processes.track(proc);
  const { stdout, stderr, code } = await outputOf(proc, (durationS + 15) * 1000);
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${stderr || stdout}`);
  const result = parseWrk(stdout);
  if (result.non2xx > 0 || result.errors > 0)
    log(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.rps;
}

/** Interleaved rounds of `a` against `b` on one fleet; req/s of each and their ratios. */
async function paired(url: string, a: string, b: string, wrk: string) {
  const ratios: number[] = [];
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so drift on a shared machine falls on both.
    const first = round % 2 === 0;
    const x = first ? await rps(url, a, wrk) : 0;
    const y = await rps(url, b, wrk);
    const z = first ? x : await rps(url, a, wrk);
    on.push(z);
    off.push(y);
    ratios.push(z / y);
  }
  return { on, off, ratios };
}

async function enqueueCost(wrk: string) {
  const fleet = await startFleet({
    DATABASE_URL: `sqlite://${join(tmp, "enqueue.db")}`,
    JOBS_PROCESSES: "0",
  });
  try {
    return {
      empty: await paired(fleet.url, "/api/reports", "/test/reports-off", wrk),
      todo: await paired(fleet.url, "/test/todo?job=1", "/test/todo", wrk),
    };
  } finally {
    await processes.stop(fleet.group);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

log(`${fmt(total)} no-op jobs, 2 job processes x JOBS_CONCURRENCY=${concurrency}, WORKERS=2`);
const sqlite = await sqliteThroughput();
console.log(`| queue | jobs/s (2 job processes) |\n|---|---|`);
console.log(`| SQLite | ${fmt(sqlite)} |`);
if (withPostgres && postgresBin()) {
  const pg = await session.postgres({ maxConnections: 50 });
  try {
    console.log(`| PostgreSQL | ${fmt(await postgresThroughput(pg))} |`);
  } finally {
    await pg.stop();
  }
} else if (withPostgres) {
  log("no PostgreSQL server binaries: PostgreSQL skipped");
}
const wrk = Bun.which("wrk");
if (!wrk) {
  log(WRK_MISSING);
} else {
  const cost = await enqueueCost(wrk);
  console.log();
  console.log(
    `| POST, SQLite, wrk -c16, ${durationS} s x ${rounds} | with job | without | ratio per round |`,
  );
  console.log("|---|---|---|---|");
  const line = (name: string, r: Awaited<ReturnType<typeof paired>>) =>
    console.log(
      `| ${name} | ${fmt(median(r.on))} | ${fmt(median(r.off))} | ${r.ratios.map((x) => fmt(x, 3)).join(", ")} |`,
    );
  line("/api/reports vs the same empty transaction", cost.empty);
  line("a todo + a job vs the todo alone (one transaction)", cost.todo);
}
