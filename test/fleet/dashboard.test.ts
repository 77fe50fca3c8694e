import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import type { FleetStatus } from "../../workers/primary/observe/status.ts";
import { NO_EXTRAS, ROOT, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";

const OUTPUT = join(ROOT, "test", "output");
let browser: Browser;

beforeAll(async () => {
  // Debian's chromium (apt-get install chromium; .ci/run installs it), launched once per file.
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** The pids the page shows, one row per worker. */
const shownPids = (page: import("playwright-core").Page) =>
  page.$$eval("#workers-table tbody tr", (rows) =>
    rows.map((r) => Number(r.getAttribute("data-pid"))),
  );

describe("dashboard", () => {
  test("the page loads without data, shows one row per worker pid once the token is typed, and a reload replaces them", async () => {
    const fleet = await startReadyFleet({ env: { DRAIN_WINDOW_MS: "50" } });
    const page = await browser.newPage({ viewport: { width: 1100, height: 560 } });
    try {
      await page.goto(fleet.url("/admin"));
      expect(await page.isVisible("#login")).toBe(true);
      expect(await page.isVisible("#fleet")).toBe(false);

      await page.fill("#token", TOKEN);
      await page.click("button[type=submit]");
      await page.waitForSelector("#workers-table tbody tr");
      const status = await fetch(fleet.url("/admin/status"), {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const { workers: listed, extras } = (await status.json()) as FleetStatus;
      const workers = listed.map((w) => w.pid);
      expect(workers.length + extras.length + 1).toBe(fleet.pids().length);
      expect((await shownPids(page)).sort()).toEqual(workers.sort());
      expect(await page.textContent("#summary")).toContain(`primary pid ${fleet.pid}`);
      // The app's stats (the template's database): the dialect, never the URL.
      expect(await page.textContent("#workers-table tbody td.app")).toContain("database sqlite");
      // The token stays in this tab only.
      expect(await page.evaluate(() => sessionStorage.getItem("bun-fleet-admin-token"))).toBe(
        TOKEN,
      );

      await page.click("#reload");
      const replaced = await waitFor(
        "the page to show two new worker pids",
        async () => {
          const pids = await shownPids(page);
          const fresh = pids.length === 2 && pids.every((pid) => !workers.includes(pid));
          return fresh ? pids : null;
        },
        8000,
        100,
      );
      const live = fleet.pids();
      for (const pid of replaced) expect(live).toContain(pid);
      // A second poll gives the new rows a requests/s figure; then the picture is complete.
      await waitFor("requests/s for the new rows", async () => {
        const rates = await page.$$eval("#workers-table tbody td:nth-child(6)", (tds) =>
          tds.map((td) => td.textContent),
        );
        return rates.length === 2 && !rates.includes("…");
      });
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, "dashboard.png"), fullPage: true });
    } finally {
      await page.close();
    }
  }, 20_000);

  test("a wrong token is refused and the page asks again", async () => {
    const fleet = await startReadyFleet({ env: NO_EXTRAS });
    const page = await browser.newPage();
    try {
      await page.goto(fleet.url("/admin"));
      await page.fill("#token", "not-the-token-0123456789");
      await page.click("button[type=submit]");
      await page.waitForSelector("#message:has-text('refused')");
      expect(await page.isVisible("#fleet")).toBe(false);
      expect(await page.evaluate(() => sessionStorage.getItem("bun-fleet-admin-token"))).toBeNull();
    } finally {
      await page.close();
    }
  });
});
