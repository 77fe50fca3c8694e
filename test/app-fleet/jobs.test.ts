import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { SQL } from "bun";
import { freshFetch, PROJECT_APP, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";
import { startPgBouncer } from "../helpers/pgbouncer.ts";
import { postgresForFile } from "../helpers/postgres.ts";

/**
 * The template's job queue in a real fleet (app/jobs/, the `jobs` extra): reports enqueued by
 * POST /api/reports are all done, through crashes and a rolling reload too.
 */

const { tmp, pg } = postgresForFile("bun-fleet-jobs-");

/** Timings that let the suite run in seconds (the defaults are for production). */
const FAST = { JOBS_POLL_MS: "20", JOBS_LEASE_MS: "1500", JOBS_RETRY_BASE_MS: "50" };

/**
 * POSTs `n` reports; the ids of those answered 202. `retry`: a request cut by a killed worker
 * is sent again (its report may or may not exist: only answered ones are counted).
 */
async function postReports(
  url: (path: string) => string,
  n: number,
  { retry = false, between }: { retry?: boolean; between?: (i: number) => Promise<void> } = {},
): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    await between?.(i);
    for (let tries = 0; ; tries++) {
      const response = await freshFetch(url("/api/reports"), { method: "POST" }).catch(
        (error: Error) => {
          if (!retry || tries > 50) throw error;
          return null;
        },
      );
      if (response?.status !== 202 && retry && tries < 50) {
        await Bun.sleep(20);
        continue;
      }
      expect(response?.status).toBe(202);
      const body = (await response?.json()) as { id: number; status: string };
      expect(body.status).toBe("queued");
      ids.push(body.id);
      break;
    }
  }
  return ids;
}

/** The primary's direct children (workers and extras). */
function childrenOf(pid: number): number[] {
  const out = Bun.spawnSync(["pgrep", "-P", String(pid)]).stdout.toString();
  return out.split("\n").filter(Boolean).map(Number);
}

/** How many jobs of the SQLite file are in each status. */
function statusCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.query("select status, count(*) as n from jobs group by status").all() as {
      status: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  } finally {
    db.close();
  }
}

type Report = { id: number; status: string; attempts: number; result: unknown };

async function reportsOf(url: (path: string) => string, ids: number[]) {
  return Promise.all(
    ids.map(async (id) => (await (await fetch(url(`/api/reports/${id}`))).json()) as Report),
  );
}

test("200 reports enqueued over HTTP are all done, each once, with its count", async () => {
  const fleet = await startReadyFleet({
    env: { ...PROJECT_APP, DATABASE_URL: `sqlite://${join(tmp, "reports.db")}`, ...FAST },
  });
  const ids = await postReports(fleet.url, 200);
  expect(new Set(ids).size).toBe(200);
  const reports = await waitFor(
    "200 reports done",
    async () => {
      const all = await reportsOf(fleet.url, ids);
      return all.every((r) => r.status === "done") ? all : null;
    },
    20_000,
  );
  for (const r of reports) {
    expect(r.attempts).toBe(1);
    expect(r.result).toEqual({ todos: expect.any(Number) });
  }
  const unknown = await fetch(fleet.url("/api/reports/999999"));
  expect(unknown.status).toBe(404);
  const admin = await fetch(fleet.url("/admin/jobs"), {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(admin.status).toBe(200);
  const body = (await admin.json()) as { queues: { name: string; doneLastHour: number }[] };
  expect(body.queues.find((q) => q.name === "default")?.doneLastHour).toBe(200);
  // /metrics: the jobs each worker enqueued; the queue's depth from worker 0 (read every 2 s).
  const metrics = await waitFor(
    "the queue's depth in /metrics",
    async () => {
      const text = await (
        await fetch(fleet.url("/metrics"), { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      return /^app_jobs_queued\{worker="0"\} 0$/m.test(text) ? text : null;
    },
    10_000,
    200,
  );
  const enqueued = [...metrics.matchAll(/^app_jobs_enqueued_total\{worker="\d"\} (\d+)$/gm)];
  expect(enqueued.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(200);
  expect(metrics).toMatch(/^app_jobs_running\{worker="0"\} 0$/m);
  expect(metrics).toMatch(/^app_jobs_failed\{worker="0"\} 0$/m);
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
}, 60_000);

/** 200 reports through a SIGKILL of every child and a rolling reload, on `databaseUrl`. */
async function reportsThroughCrashes(
  databaseUrl: string,
  counts: () => Promise<Record<string, number>>,
) {
  const fleet = await startReadyFleet({
    env: { ...PROJECT_APP, DATABASE_URL: databaseUrl, ...FAST, DRAIN_WINDOW_MS: "50" },
  });
  const victims = childrenOf(fleet.pid);
  expect(victims.length).toBe(3); // two workers and the job process
  const admin = { authorization: `Bearer ${TOKEN}` };
  const ids = await postReports(fleet.url, 200, {
    retry: true,
    between: async (i) => {
      // Every 40 reports, one child dies; at 160, a rolling reload replaces every process.
      const victim = victims[i / 40 - 1];
      if (i % 40 === 0 && victim) process.kill(victim, "SIGKILL");
      if (i === 160) {
        const reload = await freshFetch(fleet.url("/admin/reload"), {
          method: "POST",
          headers: admin,
        });
        expect(reload.status).toBe(202);
      }
    },
  });
  for (const victim of victims) expect(childrenOf(fleet.pid)).not.toContain(victim);
  const reports = await waitFor(
    "every answered report done",
    async () => {
      const all = await reportsOf(fleet.url, ids).catch(() => null);
      return all?.every((r) => r.status === "done" || r.status === "failed") ? all : null;
    },
    30_000,
  );
  expect(reports.filter((r) => r.status !== "done")).toEqual([]);
  const final = await waitFor(
    "no job left queued or running",
    async () => {
      const c = await counts();
      return c.queued || c.running ? null : c;
    },
    20_000,
  );
  expect(final.failed ?? 0).toBe(0);
  expect(final.done).toBeGreaterThanOrEqual(200);
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
}

test("200 reports while every child is SIGKILLed once and a rolling reload runs: all done, none failed, none left", async () => {
  const file = join(tmp, "crashes.db");
  await reportsThroughCrashes(`sqlite://${file}`, async () => statusCounts(file));
}, 90_000);

test("PostgreSQL: 200 reports while every child is SIGKILLed once and a rolling reload runs: all done, none failed, none left", async () => {
  const url = await pg().url("crashes");
  const sql = new SQL(url);
  try {
    await reportsThroughCrashes(url, async () => {
      const rows = (await sql`select status, count(*)::int as n from jobs group by status`) as {
        status: string;
        n: number;
      }[];
      return Object.fromEntries(rows.map((row) => [row.status, row.n]));
    });
  } finally {
    await sql.close();
  }
}, 90_000);

/** The template's hooks and app with the test jobs (test/app-fleet/fixtures/). */
const WITH_TEST_JOBS = {
  ...PROJECT_APP,
  APP_MODULE: join(import.meta.dir, "fixtures", "jobs-app.ts"),
  HOOKS_MODULE: join(import.meta.dir, "fixtures", "jobs-hooks.ts"),
};

type TestJob = {
  pid: number | null;
  id: number;
  status: string;
  attempts: number;
  error: string | null;
  result: string | null;
};

async function enqueueTestJob(url: (path: string) => string, name: string, payload: object) {
  const response = await freshFetch(url(`/test/jobs/${name}`), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: number }).id;
}

const testJob = async (url: (path: string) => string, id: number) =>
  (await (await fetch(url(`/test/jobs/${id}`))).json()) as TestJob;

test("a job that throws is retried with backoff and ends failed with its error after its last attempt", async () => {
  const fleet = await startReadyFleet({
    env: {
      ...WITH_TEST_JOBS,
      DATABASE_URL: `sqlite://${join(tmp, "flaky.db")}`,
      ...FAST,
      JOBS_RETRY_BASE_MS: "300",
    },
  });
  const id = await enqueueTestJob(fleet.url, "flaky", {});
  const job = await waitFor(
    "the flaky job to fail for good",
    async () => {
      const row = await testJob(fleet.url, id);
      return row.status === "failed" ? row : null;
    },
    20_000,
  );
  expect(job).toMatchObject({ attempts: 3, error: "boom on attempt 3" });
  // Attempts 300 ms (±20%) then 600 ms (±20%) apart: at least 240 and 480 ms.
  const times = [...fleet.stderr().matchAll(/flaky attempt (\d) at (\d+)/g)].map((m) =>
    Number(m[2]),
  );
  expect(times).toHaveLength(3);
  const [first = 0, second = 0, third = 0] = times;
  expect(second - first).toBeGreaterThanOrEqual(240);
  expect(third - second).toBeGreaterThanOrEqual(480);
  expect(fleet.stderr()).toContain("attempt 3/3 threw: boom on attempt 3 (failed for good)");
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
}, 60_000);

test("a job longer than the shutdown deadline is released at stop and completed after the restart", async () => {
  const env = {
    ...WITH_TEST_JOBS,
    DATABASE_URL: `sqlite://${join(tmp, "slow.db")}`,
    ...FAST,
    SHUTDOWN_TIMEOUT_MS: "3000",
  };
  const first = await startReadyFleet({ env });
  const id = await enqueueTestJob(first.url, "slow", { ms: 5000 });
  await waitFor(
    "the slow job to run",
    async () => (await testJob(first.url, id)).status === "running",
  );
  first.kill("SIGTERM");
  expect(await first.exited).toBe(0); // its handler stopped in time: nothing was forced
  expect(first.stderr()).toContain(`job slow #${id} released at stop`);
  expect(first.stderr()).not.toContain("slow attempt 1 finished");
  const second = await startReadyFleet({ env });
  const done = await waitFor(
    "the slow job to be done after the restart",
    async () => {
      const row = await testJob(second.url, id);
      return row.status === "done" ? row : null;
    },
    20_000,
  );
  // The release did not count: the run after the restart is its first complete attempt.
  expect(done).toMatchObject({ attempts: 1, result: JSON.stringify({ slept: 5000 }) });
  expect(second.stderr()).toContain("slow attempt 1 finished");
  second.kill("SIGTERM");
  expect(await second.exited).toBe(0);
}, 60_000);

test("a job whose process is SIGKILLed mid-run is taken again once its lease has run out, and done", async () => {
  const fleet = await startReadyFleet({
    env: { ...WITH_TEST_JOBS, DATABASE_URL: `sqlite://${join(tmp, "lease.db")}`, ...FAST },
  });
  const id = await enqueueTestJob(fleet.url, "slow", { ms: 800 });
  const running = await waitFor("the slow job to run", async () => {
    const row = await testJob(fleet.url, id);
    return row.status === "running" ? row : null;
  });
  const holder = Number(running.pid);
  expect(childrenOf(fleet.pid)).toContain(holder);
  process.kill(holder, "SIGKILL");
  const done = await waitFor(
    "the job to be done by the respawned job process",
    async () => {
      const row = await testJob(fleet.url, id);
      return row.status === "done" ? row : null;
    },
    20_000,
  );
  // The killed run counted as an attempt; the second one, in another process, finished it.
  expect(done.attempts).toBe(2);
  expect(Number(done.pid)).not.toBe(holder);
  expect(fleet.stderr()).toContain("1 job(s) whose process died queued again");
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
}, 60_000);

test("through PgBouncer in transaction mode: 100 reports done, and a schedule every second runs its ticks", async () => {
  const bouncer = await startPgBouncer({ serverPort: pg().port, poolSize: 8 });
  try {
    await pg().url("pooled");
    const fleet = await startReadyFleet({
      env: {
        ...PROJECT_APP,
        DATABASE_URL: bouncer.url("pooled", "?prepare=false"),
        DB_POOLER: "transaction",
        PURGE_DONE_CRON: "* * * * * *",
        ...FAST,
      },
    });
    const ids = await postReports(fleet.url, 100);
    await waitFor(
      "100 reports done through the pooler",
      async () => (await reportsOf(fleet.url, ids)).every((r) => r.status === "done"),
      20_000,
    );
    await waitFor(
      "three done ticks of purge-done-todos",
      async () => {
        const jobs = await fetch(fleet.url("/admin/jobs"), {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const body = (await jobs.json()) as { schedules: { runs: { outcome: string }[] }[] };
        const runs = body.schedules[0]?.runs ?? [];
        return runs.filter((r) => r.outcome === "done").length >= 3;
      },
      20_000,
    );
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  } finally {
    await bouncer.stop();
  }
}, 60_000);
