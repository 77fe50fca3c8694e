import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshFetch, PROJECT_APP, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";

/**
 * The template's job queue in a real fleet (app/jobs/, the `jobs` extra): reports enqueued by
 * POST /api/reports are all done, through crashes and a rolling reload too.
 */

const tmp = mkdtempSync(join(tmpdir(), "bun-fleet-jobs-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

/** Timings that let the suite run in seconds (the defaults are for production). */
const FAST = { JOBS_POLL_MS: "20", JOBS_LEASE_MS: "1500", JOBS_RETRY_BASE_MS: "50" };

export async function postReports(url: (path: string) => string, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const response = await freshFetch(url("/api/reports"), { method: "POST" });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { id: number; status: string };
    expect(body.status).toBe("queued");
    ids.push(body.id);
  }
  return ids;
}

type Report = { id: number; status: string; attempts: number; result: unknown };

export async function reportsOf(url: (path: string) => string, ids: number[]) {
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
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
}, 60_000);
