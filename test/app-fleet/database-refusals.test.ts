import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { SQL } from "bun";
import { count, freshFetch, PROJECT_APP, startReadyFleet, waitFor } from "../helpers/fleet.ts";
import { postgresForFile } from "../helpers/postgres.ts";

/**
 * Every refusal of the database is a 503 with Retry-After, never a 500, and the connection is
 * usable afterwards: SQLite's write lock held by another process, a PostgreSQL row lock past
 * DB_STATEMENT_TIMEOUT_MS, a server with no connection slot left. Outages are logged once when
 * they begin and once when they end, never once per request.
 */

// Few slots: the test fills them (3 of the 20 are kept for superusers).
const { tmp, pg } = postgresForFile("bun-fleet-refusals-", { maxConnections: 20 });

const json = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

test("SQLite write lock held by another process: POST is 503 with Retry-After, /healthz answers meanwhile, then it writes", async () => {
  const file = join(tmp, "locked.db");
  const fleet = await startReadyFleet({
    env: {
      ...PROJECT_APP,
      DATABASE_URL: `sqlite://${file}`,
      WORKERS: "1",
      DB_STATEMENT_TIMEOUT_MS: "1500",
    },
  });
  const other = new Database(file);
  try {
    other.run("BEGIN IMMEDIATE");
    const pending = freshFetch(fleet.url("/api/todos"), json("POST", { title: "waits" }));
    let answered = false;
    void pending.then(() => {
      answered = true;
    });
    // The worker waits for the lock without blocking its event loop: /healthz answers first.
    const health = await freshFetch(fleet.url("/healthz"));
    expect(health.status).toBe(200);
    expect(answered).toBe(false);
    const refused = await pending;
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await refused.json()).toEqual({ error: "Service Unavailable" });
    other.run("ROLLBACK");
    const created = await freshFetch(fleet.url("/api/todos"), json("POST", { title: "now" }));
    expect(created.status).toBe(201);
  } finally {
    other.close();
  }
  expect(fleet.stderr()).not.toMatch(/request \S+ failed/);
}, 60_000);

test("PostgreSQL row lock held by another session: PATCH is 503 after DB_STATEMENT_TIMEOUT_MS, then works once released", async () => {
  const url = await pg().url("rowlock");
  const fleet = await startReadyFleet({
    env: {
      ...PROJECT_APP,
      DATABASE_URL: url,
      WORKERS: "1",
      DB_MAX_CONNECTIONS: "4",
      DB_STATEMENT_TIMEOUT_MS: "400",
    },
  });
  const created = await freshFetch(fleet.url("/api/todos"), json("POST", { title: "locked" }));
  const { id } = (await created.json()) as { id: number };
  const other = new SQL({ url, max: 1 });
  const holding = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const session = other.begin(async (tx) => {
    await tx`select id from todos where id = ${id} for update`;
    holding.resolve();
    await release.promise;
  });
  try {
    await holding.promise;
    for (let i = 0; i < 3; i++) {
      const res = await freshFetch(fleet.url(`/api/todos/${id}`), json("PATCH", { done: true }));
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      // Reads are not blocked by a row lock: the pool is still usable.
      expect((await freshFetch(fleet.url(`/api/todos/${id}`))).status).toBe(200);
    }
  } finally {
    release.resolve();
    await session;
    await other.close();
  }
  const res = await freshFetch(fleet.url(`/api/todos/${id}`), json("PATCH", { done: true }));
  expect(res.status).toBe(200);
  expect(((await res.json()) as { done: boolean }).done).toBe(true);
  expect(fleet.stderr()).toContain("timed out");
  expect(fleet.stderr()).not.toMatch(/request \S+ failed/);
}, 60_000);

test("a full PostgreSQL server (too many clients): 503 with Retry-After, one log line, served again when slots free up", async () => {
  const url = await pg().url("full");
  const fleet = await startReadyFleet({
    env: {
      ...PROJECT_APP,
      DATABASE_URL: url,
      WORKERS: "1",
      DB_MAX_CONNECTIONS: "4",
    },
  });
  expect((await freshFetch(fleet.url("/api/todos"), json("POST", { title: "a" }))).status).toBe(
    201,
  );
  // Fill every slot, then drop the fleet's sessions: its pool must reconnect into a full server.
  const fillers: SQL[] = [];
  const admin = pg().admin();
  try {
    // Until the server says it is full (53300): a connect that is merely slow on a busy machine
    // is tried again, or the server would be left with a free slot.
    const fill = async () => {
      for (let tries = 0; tries < 200; tries++) {
        const filler = new SQL({ url, max: 1, connectionTimeout: 10 });
        const error = await filler`select 1`.then(
          () => null,
          (e: { errno?: string; message?: string }) => e,
        );
        if (!error) {
          fillers.push(filler);
          continue;
        }
        await filler.close().catch(() => {});
        if (error.errno === "53300" || /too many clients/.test(String(error.message))) return;
      }
      throw new Error("the server never said it was full");
    };
    await fill();
    await admin`select pg_terminate_backend(pid) from pg_stat_activity
                where application_name like 'bun-fleet worker%'`;
    // The workers' sessions are gone (the job process, which polls, may take a slot back first:
    // the fill below takes whatever is left).
    await waitFor("the workers' sessions to be gone", async () =>
      (await pg().sessions("full")).every(
        (s) => !s.application_name.startsWith("bun-fleet worker"),
      ),
    );
    await fill(); // the slots they held
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await freshFetch(fleet.url("/api/todos"), json("POST", { title: "full" }));
      statuses.push(res.status);
      if (res.status === 503) expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      await res.arrayBuffer();
    }
    expect(statuses.filter((s) => s !== 503)).toEqual([]);
    expect(fleet.stderr()).toContain("too many clients");
  } finally {
    await Promise.all(fillers.map((f) => f.close()));
    await admin.close();
  }
  await waitFor(
    "writes to succeed again",
    async () =>
      (await freshFetch(fleet.url("/api/todos"), json("POST", { title: "b" }))).status === 201,
    15_000,
    100,
  );
  // One line when the outage began (and one when it ended), not one per refused request.
  const begun = count(fleet.stderr(), /answering 503 until it is back/g);
  expect(begun).toBeGreaterThanOrEqual(1);
  expect(begun).toBeLessThanOrEqual(2);
  expect(fleet.stderr()).not.toMatch(/request \S+ failed/);
  expect(fleet.stderr()).not.toContain(":pw@");
}, 60_000);
