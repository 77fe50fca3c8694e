import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { createApp } from "../../app/index.ts";
import {
  admin,
  count,
  freePort,
  freshFetch,
  PROJECT_APP,
  ROOT,
  startFleet,
  startReadyFleet,
  TOKEN,
  waitFor,
} from "../helpers/fleet.ts";
import { postgresForFile } from "../helpers/postgres.ts";
import { fakeWorker } from "../helpers/worker.ts";

/**
 * The template's database in a real fleet (`bun run start`, app/hooks.ts): migrations in the
 * primary, a client per worker, the PostgreSQL connection budget, a database that is down or
 * goes away. (The template's job process runs too, with a client of its own.)
 */

const { tmp, pg } = postgresForFile("bun-fleet-dbfleet-", { maxConnections: 30 });

/** The tests that write through /api/todos run while the app has it (strip-demo removes it). */
const HAS_TODOS = createApp(fakeWorker()).routes.some(
  (r) => r.method === "POST" && r.path === "/api/todos",
);

/** How many migrations PostgreSQL runs: the app's folder, counted (the app adds its own). */
const POSTGRES_MIGRATIONS = new Set(
  readdirSync(join(ROOT, "app", "db", "migrations"))
    .filter((file) => file.endsWith(".sql") && !file.endsWith(".sqlite.sql"))
    .map((file) => file.split("_")[0]),
).size;

const post = (url: string, title: string) =>
  freshFetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title }),
  });

test.if(HAS_TODOS)(
  "SQLite: concurrent writes from every worker: 0 failed, rows = successes",
  async () => {
    const file = join(tmp, "writes.db");
    const fleet = await startReadyFleet({
      env: { ...PROJECT_APP, DATABASE_URL: `sqlite://${file}` },
    });
    const statuses: number[] = [];
    const workers = new Set<string | null>();
    const total = 300;
    let next = 0;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < total) {
          next += 1;
          const res = await post(fleet.url("/api/todos"), `todo ${next}`);
          statuses.push(res.status);
          workers.add(res.headers.get("x-worker-index"));
          await res.arrayBuffer();
        }
      }),
    );
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    expect(workers).toEqual(new Set(["0", "1"]));
    const sqlite = new SQL({ adapter: "sqlite", filename: file });
    const [row] = await sqlite`select count(*) as n from todos`;
    await sqlite.close();
    expect(row.n).toBe(statuses.length);

    // Seen from outside: the dialect (never the URL) and each worker's queries and errors.
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    const status = (await (await fetch(fleet.url("/admin/status"), auth)).json()) as {
      workers: { app: { database: string; db_queries_total: number; db_errors_total: number } }[];
    };
    expect(status.workers.map((w) => w.app.database)).toEqual(["sqlite", "sqlite"]);
    const queries = status.workers.map((w) => w.app.db_queries_total);
    expect(queries.every((n) => n > 0)).toBe(true);
    // One query per request; worker 0 also reads the job queue's depth for /metrics (at most
    // once per 2 s, started by a status collection: at most one so far).
    const sum = queries.reduce((a, b) => a + b);
    expect(sum).toBeGreaterThanOrEqual(statuses.length);
    expect(sum).toBeLessThanOrEqual(statuses.length + 1);
    expect(status.workers.map((w) => w.app.db_errors_total)).toEqual([0, 0]);
    const metrics = await (await fetch(fleet.url("/metrics"), auth)).text();
    expect(metrics).toMatch(/^app_db_queries_total\{worker="0"\} \d+$/m);
    expect(metrics).toMatch(/^app_db_errors_total\{worker="1"\} 0$/m);
    expect(metrics).toContain('app_info{worker="0",database="sqlite"} 1');
    expect(metrics).not.toContain(file);
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  },
  30_000,
);

describe("PostgreSQL", () => {
  test("down at start: exit 3, one line naming host:port/db, never the password", async () => {
    const port = await freePort();
    const fleet = await startFleet({
      env: { ...PROJECT_APP, DATABASE_URL: `postgres://app:s3cr3t-pw@127.0.0.1:${port}/shop` },
    });
    expect(await fleet.exited).toBe(3);
    const errors = fleet
      .stderr()
      .split("\n")
      .filter((l) => l.includes(" error "));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`postgres 127.0.0.1:${port}/shop is not reachable`);
    expect(fleet.stderr() + fleet.stdout()).not.toContain("s3cr3t-pw");
  });

  test("DB_MAX_CONNECTIONS above the server's max_connections: exit 2 naming both", async () => {
    const fleet = await startFleet({
      env: { ...PROJECT_APP, DATABASE_URL: await pg().url("budget"), DB_MAX_CONNECTIONS: "50" },
    });
    expect(await fleet.exited).toBe(2);
    expect(fleet.stderr()).toContain(
      "invalid configuration: DB_MAX_CONNECTIONS=50 is above the server's max_connections (30)",
    );
  });

  test("two fleets starting at once on a fresh database apply each migration once", async () => {
    const url = await pg().url("twofleets");
    const fleets = await Promise.all(
      [0, 1].map(() =>
        startReadyFleet({ env: { ...PROJECT_APP, DATABASE_URL: url, DB_MAX_CONNECTIONS: "6" } }),
      ),
    );
    const sql = new SQL(url);
    const rows = await sql`
      select count(*)::int as n, count(distinct version)::int as d from schema_migrations`;
    await sql.close();
    expect(rows[0]).toEqual({ n: POSTGRES_MIGRATIONS, d: POSTGRES_MIGRATIONS });
    const applied = fleets.map((f) => count(f.stderr(), /applied app\/db\/migrations/g));
    // Each migration takes the lock in its own transaction, so the two may share the work (one
    // applies 0001 while the other waits, then applies 0002): together, each exactly once.
    expect(applied.reduce((a, b) => a + b, 0)).toBe(POSTGRES_MIGRATIONS);
    for (const fleet of fleets) fleet.kill("SIGTERM");
    expect(await Promise.all(fleets.map((f) => f.exited))).toEqual([0, 0]);
  }, 30_000);

  test.if(HAS_TODOS)(
    "sessions stay within DB_MAX_CONNECTIONS through a rolling reload; 0 after stop",
    async () => {
      const db = "reload";
      const fleet = await startReadyFleet({
        env: {
          ...PROJECT_APP,
          DATABASE_URL: await pg().url(db),
          DB_MAX_CONNECTIONS: "6",
          DRAIN_WINDOW_MS: "100",
        },
      });
      expect(fleet.stderr()).toContain(
        "1 per process x (2 workers + 1 extra process(es) + 1 during reloads)",
      );
      let peak = 0;
      const names = new Set<string>();
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const sessions = await pg().sessions(db);
          peak = Math.max(peak, sessions.length);
          for (const s of sessions) names.add(s.application_name);
          await Bun.sleep(5);
        }
      })();
      // Traffic throughout, so every process (the replacements too) opens its whole pool.
      let loading = true;
      const load = Promise.all(
        Array.from({ length: 8 }, async () => {
          while (loading) {
            // A connection queued on a retiring listener may be reset (tcp_migrate_req=0): retry.
            await post(fleet.url("/api/todos"), "x").then(
              (r) => r.arrayBuffer(),
              () => {},
            );
          }
        }),
      );
      try {
        await waitFor("a session of each worker", () => names.size >= 2, 5000);
        expect((await admin(fleet.url("/admin/reload"))).status).toBe(202);
        await waitFor("the reload to complete", () => /complete in/.test(fleet.stderr()), 20_000);
        await Bun.sleep(200);
      } finally {
        loading = false;
        await load;
        polling = false;
        await poller;
      }
      console.error(`[test] peak sessions through the reload: ${peak} (budget 6)`);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(6);
      // Old and new workers: application_name says which worker and process each session is.
      expect([...names].every((n) => /^bun-fleet (worker|jobs) \d pid \d+$/.test(n))).toBe(true);
      expect(names.size).toBeGreaterThanOrEqual(3);
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
      expect(await pg().sessions(db)).toEqual([]);
    },
    60_000,
  );

  test.if(HAS_TODOS)(
    "PostgreSQL going away mid-run: 503 JSON with Retry-After, /healthz 200, same pids, recovery",
    async () => {
      const fleet = await startReadyFleet({
        env: { ...PROJECT_APP, DATABASE_URL: await pg().url("outage"), DB_MAX_CONNECTIONS: "6" },
      });
      expect((await post(fleet.url("/api/todos"), "before")).status).toBe(201);
      const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
      const before = await (await fetch(fleet.url("/admin/status"), auth)).text();
      expect(before).toContain('"database":"postgres"');
      expect(before).not.toContain(":pw@");
      const pids = fleet.pids().sort();
      await pg().kill();
      for (let i = 0; i < 10; i++) {
        const res = await post(fleet.url("/api/todos"), "during");
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toBe("5");
        expect(await res.json()).toEqual({ error: "Service Unavailable" });
      }
      expect((await freshFetch(fleet.url("/healthz"))).status).toBe(200);
      // Logged once per outage per worker, not once per request.
      const outageLines = count(fleet.stderr(), /is not reachable/g);
      expect(outageLines).toBeGreaterThanOrEqual(1);
      expect(outageLines).toBeLessThanOrEqual(3);
      await pg().restart();
      await waitFor(
        "writes to succeed again",
        async () => (await post(fleet.url("/api/todos"), "after")).status === 201,
        15_000,
        100,
      );
      expect(fleet.pids().sort()).toEqual(pids);
      const metrics = await (await fetch(fleet.url("/metrics"), auth)).text();
      const errors = [...metrics.matchAll(/^app_db_errors_total\{worker="\d"\} (\d+)$/gm)];
      expect(errors.reduce((sum, m) => sum + Number(m[1]), 0)).toBeGreaterThanOrEqual(10);
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
    },
    60_000,
  );
});
