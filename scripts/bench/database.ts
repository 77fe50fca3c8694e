/**
 * `bun run bench:db`: the template's database under load, through `bun run start` and wrk on
 * 127.0.0.1 (bounded in time).
 *
 *   1. SQLite writes/s (POST /api/todos, 64 connections) with WORKERS = 1, 2, 4, and 4 again with
 *      another process taking the write lock for 300 ms every second: p99, failures, SQLITE_BUSY
 *      seen, rows = successes, the longest heartbeat gap (the 100 ms heartbeat plus any event-loop
 *      stall: a worker waiting for the lock on its loop would show ~400 ms);
 *   2. the read route (GET /api/todos/1) fleet ×2 / ×1, interleaved rounds;
 *   3. the read route, fleet ×1 against a bare `Bun.serve` + `bun:sqlite` prepared statement on
 *      the same file sending the same response headers (servers/sqlite-bare.ts), and the template
 *      app without the fleet against it (servers/sqlite-app.ts: what the app costs), paired and
 *      pinned as `bun run bench` pairs (both loaded at once, servers on CPU 0 in their own
 *      sessions, wrk on CPU 1; median of per-round ratios), with an A/A control (bare / bare);
 *   4. PostgreSQL (a throwaway server): writes/s and p99 with a pool of 1, 2, 4, 8 per worker
 *      (WORKERS=2); sessions at start, at the peak of a rolling reload, after stop.
 *
 * What the data layer costs a route that does not touch the database is measured with the
 * paired method of `bun run bench` (see scripts/bench/README.md). Options: `--duration <s>` (default
 * 5), `--rounds <n>` for the read ratio (default 3), `--pair-rounds <n>` (default 7, of 3 s),
 * `--no-postgres`, `--only writes|scaling|paired|postgres` (one section).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Postgres, postgresBin } from "../../test/helpers/postgres.ts";
import { freePort, type Group, outputOf, pollUntil } from "../lib/procs.ts";
import { pinned } from "./measure/placement.ts";
import { parseWrk, runWrk as runPinnedWrk, WRK_MISSING, type WrkResult } from "./measure/wrk.ts";
import { wholeNumberFlag } from "./options.ts";
import { CLIENT_CPUS, SERVER_CPUS } from "./paired/pairs.ts";
import { ROOT } from "./servers/index.ts";
import { benchSession } from "./session.ts";

const TOKEN = "bench-db-admin-token-0123456789";
const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => wholeNumberFlag(args, name, fallback);
const durationS = flag("duration", 5);
const rounds = flag("rounds", 3);
const pairRounds = flag("pair-rounds", 7);
const withPostgres = !args.includes("--no-postgres");
const SECTIONS = ["writes", "scaling", "paired", "postgres"] as const;
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
if (only !== undefined && !SECTIONS.includes(only as (typeof SECTIONS)[number])) {
  throw new Error(`--only takes one of ${SECTIONS.join(", ")}`);
}
const runs = (section: (typeof SECTIONS)[number]) => only === undefined || only === section;

const wrk = Bun.which("wrk");
if (!wrk) {
  console.error(WRK_MISSING);
  process.exit(2);
}
const session = benchSession("db");
const { processes, tmp } = session;
let pg: Postgres | null = null;

const POST_LUA = join(tmp, "post.lua");
writeFileSync(
  POST_LUA,
  `wrk.method = "POST"
wrk.body = '{"title":"benchmark todo"}'
wrk.headers["Content-Type"] = "application/json"
`,
);

interface Fleet {
  group: Group;
  url: string;
  port: number;
}

async function startFleet(
  workers: number,
  env: Record<string, string>,
  cpus?: string,
): Promise<Fleet> {
  const port = freePort();
  const group = processes.spawnGroup(
    pinned([process.execPath, join(ROOT, "scripts", "start.ts")], cpus),
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: String(workers),
      ADMIN_TOKEN: TOKEN,
      SHUTDOWN_TIMEOUT_MS: "5000",
      // A heartbeat every 100 ms: /admin/status's heartbeat age then shows event-loop stalls.
      WORKER_TIMEOUT_MS: "500",
      DRAIN_WINDOW_MS: "100",
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
  return { group, port, url: `http://127.0.0.1:${port}` };
}

async function runWrk(url: string, script: string | null, seconds = durationS, c = 64) {
  const cmd = [wrk as string, "-t1", `-c${c}`, `-d${seconds}s`, "--latency"];
  if (script) cmd.push("-s", script);
  const proc = Bun.spawn([...cmd, url], { stdio: ["ignore", "pipe", "pipe"] });
  processes.track(proc);
  const { stdout: out, stderr: err, code } = await outputOf(proc, (seconds + 15) * 1000);
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${err || out}`);
  return parseWrk(out);
}

type Status = { workers: { heartbeatAgeMs: number; app: Record<string, number | string> }[] };

async function status(fleet: Fleet): Promise<Status> {
  const res = await fetch(`${fleet.url}/admin/status`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return (await res.json()) as Status;
}

/** Runs `load` while polling /admin/status; the largest heartbeat age seen (ms). */
async function withStallWatch<T>(fleet: Fleet, load: Promise<T>): Promise<[T, number]> {
  let worst = 0;
  let done = false;
  const watch = (async () => {
    while (!done) {
      try {
        for (const w of (await status(fleet)).workers) worst = Math.max(worst, w.heartbeatAgeMs);
      } catch {
        // a status that times out under load: the next poll tries again
      }
      await Bun.sleep(50);
    }
  })();
  try {
    return [await load, worst];
  } finally {
    done = true;
    await watch;
  }
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const row = (cells: (string | number)[]) => console.log(`| ${cells.join(" | ")} |`);
const log = (line: string) => console.error(`bench:db: ${line}`);

async function sqliteRows(file: string): Promise<number> {
  const { SQL } = await import("bun");
  const sql = new SQL({ adapter: "sqlite", filename: file });
  try {
    const [r] = await sql`select count(*) as n from todos`;
    return Number(r.n);
  } finally {
    await sql.close();
  }
}

/** Takes `file`'s write lock (BEGIN IMMEDIATE) for 300 ms every second until stopped. */
function holdWriteLock(file: string): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    const { Database } = await import("bun:sqlite");
    const db = new Database(file);
    db.run("PRAGMA busy_timeout = 5000");
    try {
      while (running) {
        await Bun.sleep(700);
        db.run("BEGIN IMMEDIATE");
        await Bun.sleep(300);
        db.run("COMMIT");
      }
    } finally {
      db.close();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function sqliteWrites(): Promise<void> {
  console.log(`\n### SQLite writes (POST /api/todos, wrk -c64 -d${durationS}s)\n`);
  row([
    "workers",
    "writes/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "socket errors",
    "SQLITE_BUSY seen",
    "rows = successes",
    "longest heartbeat gap ms",
  ]);
  row(Array(9).fill("---"));
  // The last run adds another process that takes the write lock for 300 ms every second: a
  // worker that waited for it on its event loop (SQLite's busy handler) would stall that long.
  for (const [workers, holder] of [
    [1, false],
    [2, false],
    [4, false],
    [4, true],
  ] as const) {
    const file = join(tmp, `writes-${workers}${holder ? "-held" : ""}.db`);
    const fleet = await startFleet(workers, { DATABASE_URL: `sqlite://${file}` });
    const holding = holder ? holdWriteLock(file) : null;
    try {
      const [result, stall] = await withStallWatch(
        fleet,
        runWrk(`${fleet.url}/api/todos`, POST_LUA),
      ).finally(() => holding?.stop());
      const busy = (
        fleet.group.stderr.tail(1_000_000).match(/SQLITE_BUSY|database is locked/g) ?? []
      ).length;
      const rows = await sqliteRows(file);
      // wrk counts answers it read; a request cut at the end of the run may still be written.
      const successes = result.requests - result.non2xx;
      row([
        holder ? `${workers} + a lock holder` : workers,
        fmt(result.rps),
        fmt(result.p50Ms, 2),
        fmt(result.p99Ms, 2),
        result.non2xx,
        result.errors,
        busy,
        `${fmt(rows)} = ${fmt(successes)}${rows === successes ? "" : ` (+${rows - successes} written as wrk stopped)`}`,
        fmt(stall),
      ]);
    } finally {
      await processes.stop(fleet.group);
    }
  }
}

/** A SQLite file with the template's schema and one todo (id 1), written by the fleet itself. */
async function seededFile(name: string): Promise<string> {
  const file = join(tmp, name);
  const seed = await startFleet(1, { DATABASE_URL: `sqlite://${file}` });
  await fetch(`${seed.url}/api/todos`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "read me" }),
  });
  await processes.stop(seed.group);
  return file;
}

async function readRatio(): Promise<void> {
  console.log(
    `\n### Read route (GET /api/todos/1, SQLite): fleet ×2 / ×1, ${rounds} interleaved rounds of ${durationS} s\n`,
  );
  const file = await seededFile("reads.db");
  const ratios: number[] = [];
  const rps: Record<number, number[]> = { 1: [], 2: [] };
  for (let round = 0; round < rounds; round++) {
    for (const workers of [1, 2]) {
      const fleet = await startFleet(workers, { DATABASE_URL: `sqlite://${file}` });
      try {
        await runWrk(`${fleet.url}/api/todos/1`, null, 1); // warm-up
        const result: WrkResult = await runWrk(`${fleet.url}/api/todos/1`, null);
        if (result.non2xx || result.errors)
          log(`read round ${round}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        rps[workers]?.push(result.rps);
      } finally {
        await processes.stop(fleet.group);
      }
    }
    ratios.push((rps[2]?.[round] ?? 0) / (rps[1]?.[round] ?? 1));
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  row(["fleet ×1 req/s (median)", "fleet ×2 req/s (median)", "×2 / ×1 per round", "median"]);
  row(["---", "---", "---", "---"]);
  row([
    fmt(median(rps[1] ?? [])),
    fmt(median(rps[2] ?? [])),
    ratios.map((r) => fmt(r, 2)).join(", "),
    fmt(median(ratios), 2),
  ]);
}

/**
 * One of the single-process servers beside the fleet on `file`, pinned to the servers' CPU: the
 * bare reference (servers/sqlite-bare.ts) or the template app without the fleet (sqlite-app.ts).
 */
async function startSingle(name: "sqlite-bare" | "sqlite-app", file: string): Promise<Fleet> {
  const port = freePort();
  const script = join(import.meta.dir, "servers", `${name}.ts`);
  const group = processes.spawnGroup(
    pinned([process.execPath, script], SERVER_CPUS),
    { PORT: String(port), HOST: "127.0.0.1", DATABASE_FILE: file },
    ROOT,
  );
  await group.stdout.waitFor(new RegExp(`^bench-${name}: ready pid (\\d+)`), 10_000);
  return { group, port, url: `http://127.0.0.1:${port}` };
}

/** GET /api/todos/1 on both at once (wrk on the clients' CPU); b's req/s over a's. */
async function pairRound(a: Fleet, b: Fleet, seconds: number) {
  const load = { threads: 1, connections: 64, durationS: seconds };
  const [ra, rb] = await Promise.all(
    [a, b].map((s) =>
      runPinnedWrk(wrk as string, `${s.url}/api/todos/1`, load, processes, CLIENT_CPUS),
    ),
  );
  const bad = [ra, rb].reduce((n, r) => n + (r ? r.errors + r.non2xx : 0), 0);
  if (bad) log(`paired round: ${bad} errors or non-2xx answers`);
  return { a: ra?.rps ?? 0, b: rb?.rps ?? 0 };
}

async function readPaired(): Promise<void> {
  const seconds = 3;
  console.log(
    `\n### Read route (GET /api/todos/1, SQLite): fleet ×1 / bare Bun.serve + bun:sqlite, same response headers, paired and pinned, ${pairRounds} rounds of ${seconds} s\n`,
  );
  const file = await seededFile("paired.db");
  const bare = await startSingle("sqlite-bare", file);
  const control = await startSingle("sqlite-bare", file);
  const alone = await startSingle("sqlite-app", file);
  const fleet = await startFleet(1, { DATABASE_URL: `sqlite://${file}` }, SERVER_CPUS);
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)] ?? 0;
  try {
    await pairRound(bare, control, 1); // warm-up
    await pairRound(bare, fleet, 1);
    await pairRound(bare, alone, 1);
    const aa: number[] = [];
    const fb: number[] = [];
    const ab: number[] = [];
    const rps = { bare: [] as number[], fleet: [] as number[], alone: [] as number[] };
    for (let round = 1; round <= pairRounds; round++) {
      const c = await pairRound(bare, control, seconds);
      aa.push(c.b / c.a);
      const f = await pairRound(bare, fleet, seconds);
      fb.push(f.b / f.a);
      rps.bare.push(f.a);
      rps.fleet.push(f.b);
      const a = await pairRound(bare, alone, seconds);
      ab.push(a.b / a.a);
      rps.alone.push(a.b);
      log(
        `paired round ${round}: A/A ${fmt(c.b / c.a, 3)}, fleet ×1 / bare ${fmt(f.b / f.a, 3)}, app alone / bare ${fmt(a.b / a.a, 3)}`,
      );
    }
    row(["pair", "A req/s (median)", "B req/s (median)", "B / A per round", "median"]);
    row(["---", "---", "---", "---", "---"]);
    row(["A/A: bare / bare", "", "", aa.map((r) => fmt(r, 3)).join(", "), fmt(median(aa), 3)]);
    row([
      "fleet ×1 / bare",
      fmt(median(rps.bare)),
      fmt(median(rps.fleet)),
      fb.map((r) => fmt(r, 3)).join(", "),
      fmt(median(fb), 3),
    ]);
    row([
      "app alone (createApp in one Bun.serve, no fleet) / bare",
      "",
      fmt(median(rps.alone)),
      ab.map((r) => fmt(r, 3)).join(", "),
      fmt(median(ab), 3),
    ]);
  } finally {
    for (const server of [bare, control, alone, fleet]) await processes.stop(server.group);
  }
}

async function postgresPools(server: Postgres): Promise<void> {
  console.log(`\n### PostgreSQL writes (POST /api/todos, WORKERS=2, wrk -c64 -d${durationS}s)\n`);
  row([
    "pool per worker",
    "DB_MAX_CONNECTIONS",
    "writes/s",
    "p50 ms",
    "p99 ms",
    "failed",
    "sessions at start",
    "peak during a reload",
    "after stop",
  ]);
  row(["---", "---", "---", "---", "---", "---", "---", "---", "---"]);
  for (const pool of [1, 2, 4, 8]) {
    const db = `bench_pool_${pool}`;
    // 2 workers + the template's job process + 1 for the reload overlap (app/hooks.ts's budget).
    const budget = pool * 4;
    const fleet = await startFleet(2, {
      DATABASE_URL: await server.url(db),
      DB_MAX_CONNECTIONS: String(budget),
    });
    let afterStop = -1;
    try {
      const result = await runWrk(`${fleet.url}/api/todos`, POST_LUA);
      const atStart = (await server.sessions(db)).length;
      // A rolling reload under load, sessions polled throughout.
      let peak = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          peak = Math.max(peak, (await server.sessions(db)).length);
          await Bun.sleep(5);
        }
      })();
      const load = runWrk(`${fleet.url}/api/todos`, POST_LUA, 3, 16);
      await Bun.sleep(300);
      await fetch(`${fleet.url}/admin/reload`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await pollUntil(() => /complete in/.test(fleet.group.stderr.tail(1_000_000)), 20_000);
      await load.catch(() => null);
      polling = false;
      await poller;
      await processes.stop(fleet.group);
      await pollUntil(() => false, 200);
      afterStop = (await server.sessions(db)).length;
      row([
        pool,
        budget,
        fmt(result.rps),
        fmt(result.p50Ms, 2),
        fmt(result.p99Ms, 2),
        result.non2xx + result.errors,
        atStart,
        `${peak} (≤ ${budget})`,
        afterStop,
      ]);
    } finally {
      if (!fleet.group.gone) await processes.stop(fleet.group);
    }
  }
}

try {
  const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
  console.log(
    `bench:db on ${navigator.hardwareConcurrency} CPUs, load average ${load} at the start`,
  );
  if (runs("writes")) await sqliteWrites();
  if (runs("scaling")) await readRatio();
  if (runs("paired")) await readPaired();
  if (withPostgres && runs("postgres")) {
    if (!postgresBin()) log("PostgreSQL is not installed: its section is skipped");
    else {
      pg = await session.postgres({ maxConnections: 60 });
      await postgresPools(pg as Postgres);
    }
  }
  const end = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
  console.log(`\nload average ${end} at the end`);
} finally {
  await pg?.stop();
  await processes.stopAll();
}
process.exit(0);
