import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { freshFetch, PROJECT_APP, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";

/** The dashboard's Jobs panel (GET /admin/jobs through the template's `jobs` hook). */

const tmp = mkdtempSync(join(tmpdir(), "bun-fleet-jobs-dashboard-"));
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("the dashboard shows the queues and the demo schedule's runs", async () => {
  const fleet = await startReadyFleet({
    env: {
      ...PROJECT_APP,
      DATABASE_URL: `sqlite://${join(tmp, "dashboard.db")}`,
      PURGE_DONE_CRON: "* * * * * *",
      JOBS_POLL_MS: "20",
    },
  });
  const response = await freshFetch(fleet.url("/api/reports"), { method: "POST" });
  expect(response.status).toBe(202);
  const page = await browser.newPage();
  try {
    // Wait for a run to be done first: the panel reads /admin/jobs every 5 s.
    await waitFor("a done run of purge-done-todos", async () => {
      const jobs = await fetch(fleet.url("/admin/jobs"), {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return JSON.stringify(await jobs.json()).includes('"outcome":"done"');
    });
    await page.goto(fleet.url("/admin"));
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("#jobs:not([hidden])");
    const queues = await page.textContent("#queues-table tbody");
    expect(queues).toContain("default");
    const schedules = await page.textContent("#schedules-table tbody");
    expect(schedules).toContain("purge-done-todos");
    expect(schedules).toContain("* * * * * *");
    expect(schedules).toContain("done");
  } finally {
    await page.close();
  }
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
}, 60_000);
