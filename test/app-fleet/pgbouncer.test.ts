import { afterAll, beforeAll, expect, onTestFinished, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { LOCK_KEY, loadMigrations } from "../../app/db/migrate.ts";
import { outputOf } from "../../scripts/lib/procs.ts";
import {
  admin,
  count,
  type Fleet,
  freshFetch,
  PROJECT_APP,
  ROOT,
  startFleet,
  startReadyFleet,
  waitFor,
} from "../helpers/fleet.ts";
import { type PgBouncer, startPgBouncer } from "../helpers/pgbouncer.ts";
import { postgresForFile } from "../helpers/postgres.ts";

/** The migrations the folder holds for PostgreSQL (whatever their number). */
const MIGRATIONS = loadMigrations("postgres").length;

/**
 * The template's app behind PgBouncer in transaction mode (Debian's 1.18: no prepared-statement
 * support): `?prepare=false` on DATABASE_URL, migrations under a transaction-scoped lock,
 * DB_LOCK_TIMEOUT_MS, and the budget counted against the pooler (DB_POOLER=transaction).
 */

const MIGRATE_DIR = join(import.meta.dir, "migrate-dir.ts");
const MAX_CONNECTIONS = 40;
const POOL_SIZE = 8;
const { pg } = postgresForFile("bun-fleet-pgbouncer-", { maxConnections: MAX_CONNECTIONS });
let bouncer: PgBouncer | undefined;
beforeAll(async () => {
  bouncer = await startPgBouncer({ serverPort: pg().port, poolSize: POOL_SIZE });
}, 30_000);
afterAll(async () => {
  await bouncer?.stop();
}, 15_000);

const pgb = () => {
  if (!bouncer) throw new Error("PgBouncer has not started (beforeAll)");
  return bouncer;
};

/** A fresh database, and the env of the template app reaching it through PgBouncer. */
async function pooledEnv(db: string, query = "?prepare=false") {
  await pg().url(db);
  return {
    ...PROJECT_APP,
    DATABASE_URL: pgb().url(db, query),
    DB_POOLER: "transaction",
    DRAIN_WINDOW_MS: "100",
  };
}

/** A superuser query on the server itself (not through the pooler). */
async function onServer<T>(db: string, query: string): Promise<T[]> {
  const sql = new SQL({ url: `postgres://postgres@127.0.0.1:${pg().port}/${db}`, max: 1 });
  try {
    return [...(await sql.unsafe(query))] as T[];
  } finally {
    await sql.close();
  }
}

const advisoryLocks = async (db: string) =>
  (
    await onServer<{ n: number }>(
      db,
      "select count(*)::int as n from pg_locks where locktype = 'advisory'",
    )
  )[0]?.n;

/** `bun run migrate` with `env`, killed if it runs past 30 s (a hang fails, never blocks). */
async function runMigrate(env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", "migrate.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return outputOf(proc, 30_000);
}

/**
 * Create, read, update, delete on fresh connections until stopped. A response with any other
 * status than the route's is a failure; a connection reset before an answer (the kernel's,
 * with tcp_migrate_req=0, documented in the README) is retried and counted apart.
 */
function crudLoop(fleet: Fleet, clients: number) {
  let running = true;
  const seen = { ok: 0, failed: [] as string[], resets: 0 };
  const call = async (method: string, path: string, expected: number, body?: unknown) => {
    for (;;) {
      try {
        const res = await freshFetch(fleet.url(path), {
          method,
          headers: { "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status !== expected) {
          seen.failed.push(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
          return null;
        }
        seen.ok += 1;
        return text ? JSON.parse(text) : {};
      } catch (error) {
        if ((error as Error).name === "TimeoutError") {
          seen.failed.push(`${method} ${path}: no answer in 10 s`);
          return null;
        }
        seen.resets += 1;
      }
    }
  };
  const client = async () => {
    while (running) {
      const todo = (await call("POST", "/api/todos", 201, { title: "pooled" })) as {
        id: number;
      } | null;
      if (!todo) continue;
      await call("GET", `/api/todos/${todo.id}`, 200);
      await call("PATCH", `/api/todos/${todo.id}`, 200, { done: true });
      await call("DELETE", `/api/todos/${todo.id}`, 204);
    }
  };
  const done = Promise.all(Array.from({ length: clients }, client));
  return {
    seen,
    stop: async () => {
      running = false;
      await done;
      return seen;
    },
  };
}

test("three fleets starting at once through PgBouncer (DB_POOLER=transaction, a budget above max_connections): all start, each migration once, no lock left; CRUD through a rolling reload of each: 0 failed", async () => {
  // A budget above the server's max_connections: behind the pooler it counts client
  // connections to PgBouncer, whose pool (POOL_SIZE) is what reaches the server.
  const env = { ...(await pooledEnv("three")), DB_MAX_CONNECTIONS: String(MAX_CONNECTIONS + 20) };
  // Without DB_POOLER the same budget is checked against the server's, and refused.
  const { DB_POOLER: _, ...unpooled } = { ...env, ...(await pooledEnv("refused")) };
  const refused = await startFleet({
    env: { ...unpooled, DB_MAX_CONNECTIONS: env.DB_MAX_CONNECTIONS },
  });
  expect(await refused.exited).toBe(2);
  expect(refused.stderr()).toContain(
    `DB_MAX_CONNECTIONS=60 is above the server's max_connections (${MAX_CONNECTIONS})`,
  );
  const fleets = await Promise.all([0, 1, 2].map(() => startReadyFleet({ env })));
  const [rows] = await onServer<{ n: number; d: number }>(
    "three",
    "select count(*)::int as n, count(distinct version)::int as d from schema_migrations",
  );
  expect(rows).toEqual({ n: MIGRATIONS, d: MIGRATIONS });
  const applied = fleets.map((f) => count(f.stderr(), /applied app\/db\/migrations/g));
  expect(applied.reduce((a, b) => a + b)).toBe(MIGRATIONS);
  expect(await advisoryLocks("three")).toBe(0);
  for (const fleet of fleets) {
    expect(fleet.stderr()).toContain("budget 60 connections to the pooler: 15 per process");
  }

  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [row] = await onServer<{ n: number }>(
        "postgres",
        "select count(*)::int as n from pg_stat_activity where datname = 'three'",
      );
      peak = Math.max(peak, row?.n ?? 0);
      await Bun.sleep(20);
    }
  })();
  const loops = fleets.map((fleet) => crudLoop(fleet, 3));
  try {
    await waitFor("CRUD to run on every fleet", () => loops.every((l) => l.seen.ok >= 20), 20_000);
    for (const fleet of fleets) expect((await admin(fleet.url("/admin/reload"))).status).toBe(202);
    for (const fleet of fleets) {
      await waitFor(
        () => `the reload to complete: ${fleet.stderr()}`,
        () => /complete in/.test(fleet.stderr()),
        40_000,
      );
    }
    const before = loops.map((l) => l.seen.ok);
    await waitFor(
      "CRUD to go on after the reloads",
      () => loops.every((l, i) => l.seen.ok >= (before[i] ?? 0) + 20),
      20_000,
    );
  } finally {
    await Promise.all(loops.map((l) => l.stop()));
    sampling = false;
    await sampler;
  }
  const seen = loops.map((l) => l.seen);
  console.error(
    `[test] CRUD through PgBouncer and three reloads: ${seen.map((s) => `${s.ok} ok, ${s.failed.length} failed, ${s.resets} resets`).join("; ")}; peak server sessions ${peak} (pool ${POOL_SIZE})`,
  );
  if (seen.some((s) => s.failed.length)) {
    for (const f of fleets)
      console.error(
        f
          .stderr()
          .split("\n")
          .filter((l) => / (error|warn) /.test(l))
          .slice(0, 8)
          .join("\n"),
      );
  }
  expect(seen.flatMap((s) => s.failed)).toEqual([]);
  // What reaches the server is PgBouncer's pool, not the fleets' 3 x 60.
  expect(peak).toBeLessThanOrEqual(POOL_SIZE);
  for (const fleet of fleets) fleet.kill("SIGTERM");
  expect(await Promise.all(fleets.map((f) => f.exited))).toEqual([0, 0, 0]);
  expect(await advisoryLocks("three")).toBe(0);
}, 180_000);

test("bun run migrate through PgBouncer, twice (three at once each time): exit 0, no hang, each migration once, no lock left", async () => {
  const env = await pooledEnv("migrate");
  const first = await Promise.all([0, 1, 2].map(() => runMigrate(env)));
  expect(first.map((r) => [r.code, r.stderr])).toEqual([
    [0, ""],
    [0, ""],
    [0, ""],
  ]);
  expect(first.reduce((n, r) => n + count(r.stdout, /^applied app\/db\/migrations/gm), 0)).toBe(
    MIGRATIONS,
  );
  const second = await Promise.all([0, 1, 2].map(() => runMigrate(env)));
  expect(second.map((r) => r.code)).toEqual([0, 0, 0]);
  for (const run of second) expect(run.stdout).toContain("nothing to do, schema up to date");
  const [rows] = await onServer<{ n: number; d: number }>(
    "migrate",
    "select count(*)::int as n, count(distinct version)::int as d from schema_migrations",
  );
  expect(rows).toEqual({ n: MIGRATIONS, d: MIGRATIONS });
  expect(await advisoryLocks("migrate")).toBe(0);
}, 90_000);

test("the migration lock held past DB_LOCK_TIMEOUT_MS: a start and bun run migrate exit 3 naming the holder; a process killed mid-migration leaves nothing held", async () => {
  const env = { ...(await pooledEnv("held")), DB_LOCK_TIMEOUT_MS: "1500" };
  const holder = new SQL({
    url: await pg().url("held"),
    max: 1,
    connection: { application_name: "lock-holder-test" },
  });
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holderPid = 0;
  const holding = holder.begin(async (tx) => {
    const [row] = await tx.unsafe(
      `select pg_backend_pid() as pid, pg_advisory_xact_lock(${LOCK_KEY}) is not null as locked`,
    );
    holderPid = row.pid;
    await released;
  });
  try {
    await waitFor("the test to hold the lock", () => holderPid > 0);
    const fleet = await startFleet({ env });
    expect(await fleet.exited).toBe(3);
    const err = fleet.stderr();
    expect(err).toContain(
      `waiting for the migration lock, held by pid ${holderPid} "lock-holder-test"`,
    );
    expect(err).toContain(
      `the migration lock is still held after DB_LOCK_TIMEOUT_MS=1500 by pid ${holderPid} "lock-holder-test"`,
    );
    expect(fleet.stdout()).not.toContain("bun-fleet: serving");

    const migrate = await runMigrate(env);
    expect(migrate.code).toBe(3);
    expect(migrate.stderr).toContain(
      `migrate: the migration lock is still held after DB_LOCK_TIMEOUT_MS=1500 by pid ${holderPid} "lock-holder-test"`,
    );
  } finally {
    release();
    await holding;
    await holder.close();
  }
  // Nothing was left held by the processes that gave up.
  expect(await advisoryLocks("held")).toBe(0);

  // A process killed while it migrates (holding the lock, inside a slow migration) leaves
  // nothing held either: its transaction ends with its connection.
  const dir = mkdtempSync(join(tmpdir(), "bun-fleet-slow-migration-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "9999_slow.sql"), "select pg_sleep(2); create table slow (x int);");
  const migrating = Bun.spawn([process.execPath, MIGRATE_DIR, env.DATABASE_URL, dir], {
    stdout: "pipe",
    stderr: "pipe",
  });
  onTestFinished(() => migrating.kill("SIGKILL"));
  await waitFor(
    "the migrating process to hold the lock",
    async () => (await advisoryLocks("held")) === 1,
    15_000,
  );
  migrating.kill("SIGKILL");
  await migrating.exited;
  await waitFor(
    "the killed process's lock to be gone",
    async () => (await advisoryLocks("held")) === 0,
    20_000,
    100,
  );
  const [slow] = await onServer<{ t: string | null }>(
    "held",
    "select to_regclass('slow')::text as t",
  );
  expect(slow?.t).toBeNull();
  // With the holders gone, a start goes on.
  const fleet = await startReadyFleet({ env });
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
}, 90_000);

test("without ?prepare=false behind PgBouncer: a start and bun run migrate fail with a line saying to set it", async () => {
  const fleet = await startFleet({ env: await pooledEnv("prepared", "") });
  expect(await fleet.exited).toBe(3);
  expect(fleet.stderr()).toContain("set ?prepare=false on DATABASE_URL");
  expect(fleet.stderr()).toContain("DB_POOLER=transaction without ?prepare=false on DATABASE_URL");
  expect(fleet.stderr()).toMatch(/prepared statement "P\d+" (already exists|does not exist)/);
  // bun run migrate: whether its statements collide depends on which of the pool's server
  // connections PgBouncer hands it and what they hold (it exited 0 in about 1 run of 2 with both
  // cores busy); when they do, it says the same. Never another error, never a hang.
  const migrate = await runMigrate(await pooledEnv("prepared", ""));
  if (migrate.code !== 0) {
    expect(migrate.code).toBe(3);
    expect(migrate.stderr).toContain("set ?prepare=false on DATABASE_URL");
  }
}, 60_000);
