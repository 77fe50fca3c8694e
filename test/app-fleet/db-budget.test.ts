import { describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import {
  type Fleet,
  fleetStatus,
  freshFetch,
  PROJECT_APP,
  startFleet,
  waitFor,
} from "../helpers/fleet.ts";
import { type Postgres, postgresForFile } from "../helpers/postgres.ts";

/**
 * DB_MAX_CONNECTIONS is a ceiling at every instant: the sessions of the fleet's database, sampled
 * every 10 ms in pg_stat_activity, never exceed it at start, through a rolling reload under load
 * (the default 1 s drain window, long enough for the next slot's replacement to open its pool
 * while the retiring worker still holds its own), a crash and its respawn, a scale-up by one,
 * and recycles. 2 workers, the template's job process and a budget of 12: 3 connections per
 * process (Bun's pool opens all of them on the first query, the `select 1` of onStart).
 */

const { pg } = postgresForFile("bun-fleet-budget-", { maxConnections: 40 });
const BUDGET = 12;

/** Samples the sessions of `db` every 10 ms; the peak of each phase, by name. */
function sampleSessions(server: Postgres, db: string) {
  const sql: SQL = server.admin();
  const peaks = new Map<string, number>();
  let phase = "start";
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const began = performance.now();
      const [row] = await sql`
        select count(*)::int as n from pg_stat_activity
        where datname = ${db} and backend_type = 'client backend'`;
      samples += 1;
      peaks.set(phase, Math.max(peaks.get(phase) ?? 0, row.n as number));
      await Bun.sleep(Math.max(0, 10 - (performance.now() - began)));
    }
  })();
  return {
    peaks,
    phase: (name: string) => {
      phase = name;
    },
    stop: async () => {
      running = false;
      await loop;
      await sql.close();
      return samples;
    },
  };
}

/** POSTs on fresh connections from 8 clients until stopped (lost connections are retried). */
function writeLoad(fleet: Fleet) {
  let running = true;
  let created = 0;
  const clients = Array.from({ length: 8 }, async () => {
    while (running) {
      await freshFetch(fleet.url("/api/todos"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "x" }),
      }).then(
        async (res) => {
          if (res.status === 201) created += 1;
          await res.arrayBuffer();
        },
        () => {},
      );
    }
  });
  return {
    created: () => created,
    stop: async () => {
      running = false;
      await Promise.all(clients);
    },
  };
}

const workersReady = async (fleet: Fleet, n: number, not: number[] = []) => {
  const { workers } = await fleetStatus(fleet.url);
  return workers.length === n && workers.every((w) => w.state === "ready" && !not.includes(w.pid));
};

const show = (peaks: Map<string, number>, samples: number) =>
  console.error(
    `[test] peak sessions (budget ${BUDGET}, ${samples} samples): ${JSON.stringify(Object.fromEntries(peaks))}`,
  );

describe(`PostgreSQL, 2 workers, DB_MAX_CONNECTIONS=${BUDGET}, sampled every 10 ms`, () => {
  test("start, a rolling reload under load, a crash and respawn, a scale-up by one: never above the budget", async () => {
    const db = "ceiling";
    const url = await pg().url(db);
    const sampler = sampleSessions(pg(), db);
    let load: ReturnType<typeof writeLoad> | null = null;
    try {
      const fleet = await startFleet({
        env: { ...PROJECT_APP, DATABASE_URL: url, DB_MAX_CONNECTIONS: String(BUDGET) },
      });
      await waitFor(
        "the start banner",
        () => fleet.stdout().includes("bun-fleet: serving"),
        20_000,
      );
      load = writeLoad(fleet);
      await waitFor("writes", () => (load?.created() ?? 0) > 20, 10_000);
      await waitFor(
        "every pool open (3 per worker + 3 for the job process)",
        () => sampler.peaks.get("start") === 9,
        10_000,
      );

      sampler.phase("reload");
      fleet.kill("SIGHUP");
      await waitFor("the reload to complete", () => /complete in/.test(fleet.stderr()), 30_000);

      sampler.phase("crash");
      const victim = (await fleetStatus(fleet.url)).workers[0];
      if (!victim) throw new Error("no worker in /admin/status");
      process.kill(victim.pid, "SIGKILL");
      await waitFor("the respawn", () => workersReady(fleet, 2, [victim.pid]), 20_000, 50);

      sampler.phase("scale-up");
      fleet.kill("SIGTTIN");
      await waitFor("a third worker", () => workersReady(fleet, 3), 20_000, 50);
      const before = load.created();
      await waitFor("more writes", () => (load?.created() ?? 0) > before + 20, 10_000);
      await load.stop();

      sampler.phase("stop");
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
    } finally {
      await load?.stop();
      show(sampler.peaks, await sampler.stop());
    }
    const { peaks } = sampler;
    // Every phase was sampled with pools open (a crash leaves the survivors' 3 + 3 at least).
    for (const phase of ["start", "reload", "crash", "scale-up"]) {
      expect(peaks.get(phase) ?? 0).toBeGreaterThanOrEqual(phase === "crash" ? 6 : 9);
      expect(peaks.get(phase) ?? Infinity).toBeLessThanOrEqual(BUDGET);
    }
    expect(await pg().sessions(db)).toEqual([]);
  }, 120_000);

  test("recycles under load (MAX_REQUESTS): never above the budget", async () => {
    const db = "recycles";
    const url = await pg().url(db);
    const sampler = sampleSessions(pg(), db);
    let load: ReturnType<typeof writeLoad> | null = null;
    try {
      const fleet = await startFleet({
        env: {
          ...PROJECT_APP,
          DATABASE_URL: url,
          DB_MAX_CONNECTIONS: String(BUDGET),
          MAX_REQUESTS: "200",
          MAX_REQUESTS_JITTER: "0",
        },
      });
      await waitFor(
        "the start banner",
        () => fleet.stdout().includes("bun-fleet: serving"),
        20_000,
      );
      sampler.phase("recycles");
      load = writeLoad(fleet);
      const retired = () => fleet.stderr().match(/\) retired \(/g)?.length ?? 0;
      await waitFor("three recycled workers to retire", () => retired() >= 3, 40_000, 50);
      await load.stop();
      sampler.phase("stop");
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
    } finally {
      await load?.stop();
      show(sampler.peaks, await sampler.stop());
    }
    expect(sampler.peaks.get("recycles") ?? 0).toBeGreaterThanOrEqual(9);
    expect(sampler.peaks.get("recycles") ?? Infinity).toBeLessThanOrEqual(BUDGET);
  }, 120_000);
});
