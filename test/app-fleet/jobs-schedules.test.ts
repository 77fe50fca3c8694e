import { expect, test } from "bun:test";
import { join } from "node:path";
import type { ScheduleRun } from "../../app/jobs/overview.ts";
import { type Fleet, PROJECT_APP, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";
import { postgresForFile } from "../helpers/postgres.ts";

/**
 * Schedules for the whole deployment (app/jobs/schedules.ts): two fleets on one database, the
 * demo schedule every second; each tick runs once, and both fleets list the same runs.
 */

const { tmp, pg } = postgresForFile("bun-fleet-schedules-", { maxConnections: 40 });

/** A run as GET /admin/jobs answers it (the template's jobs hook). */
type Run = ScheduleRun;
type Overview = { schedules: { name: string; cron: string; runs: Run[] }[] };

async function runsOf(fleet: Fleet): Promise<Run[]> {
  const response = await fetch(fleet.url("/admin/jobs"), {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as Overview;
  const purge = body.schedules.find((s) => s.name === "purge-done-todos");
  expect(purge?.cron).toBe("* * * * * *");
  return purge?.runs ?? [];
}

/** Two fleets on `url`, 8 s of a schedule every second: one run per tick, listed alike. */
async function checkOneRunPerTick(url: string) {
  const env = {
    ...PROJECT_APP,
    DATABASE_URL: url,
    DB_MAX_CONNECTIONS: "12",
    PURGE_DONE_CRON: "* * * * * *",
    JOBS_POLL_MS: "20",
  };
  const fleets = await Promise.all([startReadyFleet({ env }), startReadyFleet({ env })]);
  const from = Date.now();
  // Both fleets' job processes schedule; wait for 8 s of ticks after both were up.
  await waitFor(
    "8 s of ticks",
    async () => {
      const runs = await runsOf(fleets[0] as Fleet);
      const since = runs.filter((r) => Date.parse(r.scheduledAt) > from);
      return since.length >= 8 && since.every((r) => r.outcome === "done") ? true : null;
    },
    30_000,
  );
  const until = Date.now() - 1000; // ticks up to here have been claimed and run
  const lists = await Promise.all(fleets.map(runsOf));
  const [a, b] = lists.map((runs) =>
    runs.filter((r) => Date.parse(r.scheduledAt) > from && Date.parse(r.scheduledAt) <= until),
  ) as [Run[], Run[]];
  // The same runs from either fleet (a run still finishing may differ only in its outcome).
  expect(a.map((r) => r.scheduledAt)).toEqual(b.map((r) => r.scheduledAt));
  // No tick twice; one run per whole second of the window (±1 at its edges).
  const ticks = a.map((r) => Date.parse(r.scheduledAt));
  expect(new Set(ticks).size).toBe(ticks.length);
  for (const tick of ticks) expect(tick % 1000).toBe(0);
  const seconds = Math.floor(until / 1000) - Math.floor(from / 1000);
  expect(Math.abs(ticks.length - seconds)).toBeLessThanOrEqual(1);
  expect(a.filter((r) => r.outcome !== "done" && Date.parse(r.scheduledAt) < until - 1000)).toEqual(
    [],
  );
  for (const run of a.filter((r) => r.outcome === "done")) {
    expect(run.host).toBeString();
    expect(run.pid).toBeGreaterThan(0);
    expect(Date.parse(run.startedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(run.scheduledAt));
    expect(Date.parse(run.finishedAt ?? "")).toBeGreaterThanOrEqual(
      Date.parse(run.startedAt ?? ""),
    );
  }
  for (const fleet of fleets) fleet.kill("SIGTERM");
  expect(await Promise.all(fleets.map((f) => f.exited))).toEqual([0, 0]);
}

test("two fleets on one PostgreSQL, a schedule every second: one run per tick, none twice, both list the same", async () => {
  await checkOneRunPerTick(await pg().url("schedules"));
}, 60_000);

test("two fleets sharing one SQLite file, a schedule every second: one run per tick, none twice, both list the same", async () => {
  await checkOneRunPerTick(`sqlite://${join(tmp, "schedules.db")}`);
}, 60_000);
