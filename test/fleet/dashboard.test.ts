import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import type { FleetStatus } from "../../workers/primary/observe/status.ts";
import { launchChromium } from "../helpers/browser.ts";
import { FIXTURES, NO_EXTRAS, ROOT, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";
import { openStream } from "../helpers/sse.ts";
import { connectMany, wsUrl } from "../helpers/websockets.ts";

const OUTPUT = join(ROOT, "test", "output");
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium(); // once per file
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
      // The app's numbers (the hooks module's `stats`; the test app names its store).
      expect(await page.textContent("#workers-table tbody td.app")).toContain("store memory");
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

  test("the page shows WebSockets, SSE streams and pub/sub, and counts a reload as replacements, not restarts", async () => {
    const fleet = await startReadyFleet({
      env: {
        ...NO_EXTRAS,
        APP_MODULE: join(FIXTURES, "socket-room-app.ts"),
        DRAIN_WINDOW_MS: "50",
      },
    });
    const clients = await connectMany(wsUrl(fleet.port, "/room"), 3);
    const streams = [await openStream(fleet, "/feed"), await openStream(fleet, "/feed")];
    const page = await browser.newPage({ viewport: { width: 1100, height: 560 } });
    try {
      clients[0]?.ws.send("hi");
      await waitFor("the message to reach every client", () =>
        clients.every((c) => c.messages.includes("hi")),
      );
      const res = await fetch(fleet.url("/admin/status"), {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const { fleet: f, workers } = (await res.json()) as FleetStatus;
      await page.goto(fleet.url("/admin"));
      await page.fill("#token", TOKEN);
      await page.click("button[type=submit]");
      await page.waitForSelector("#workers-table tbody tr");
      const line = `WebSockets open 3, SSE streams open 2; pub/sub: published 1, relayed ${f.pubsub.hub.relayed}, dropped 0`;
      await waitFor("the WebSocket and pub/sub line", async () => {
        return (await page.$eval("#realtime", (el) => el.textContent)) === line;
      });
      /** The page's workers table as text cells, by column name. */
      const rows = () =>
        page.$$eval("#workers-table", ([table]) => {
          const names = [...(table?.querySelectorAll("thead th") ?? [])].map(
            (th) => th.textContent,
          );
          return [...(table?.querySelectorAll("tbody tr") ?? [])].map((tr) =>
            Object.fromEntries([...tr.children].map((td, i) => [names[i], td.textContent])),
          );
        });
      const sockets = Object.fromEntries(workers.map((w) => [String(w.pid), String(w.websockets)]));
      expect((await rows()).map((r) => [r.pid, r.WebSockets])).toEqual(
        workers.map((w) => [String(w.pid), sockets[String(w.pid)]]),
      );
      expect((await rows()).map((r) => [r.pid, r.SSE])).toEqual(
        workers.map((w) => [String(w.pid), String(w.sseStreams)]),
      );
      expect(workers.reduce((sum, w) => sum + (w.sseStreams ?? 0), 0)).toBe(2);
      for (const c of clients) c.ws.close();
      for (const s of streams) s.close();

      await page.click("#reload");
      const before = workers.map((w) => String(w.pid));
      const after = await waitFor(
        "two new workers on the page",
        async () => {
          const shown = await rows();
          const fresh = shown.length === 2 && shown.every((r) => !before.includes(r.pid ?? ""));
          return fresh ? shown : null;
        },
        8000,
        100,
      );
      for (const r of after)
        expect(r).toMatchObject({ restarts: "0", crashes: "0", replaced: "1" });
      await waitFor("the summary to count the reload", async () =>
        (await page.textContent("#summary"))?.includes(
          "restarts 0, crashes 0, replaced 2 (reload 2)",
        ),
      );
    } finally {
      for (const c of clients) c.ws.close();
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
