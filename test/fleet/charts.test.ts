import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { FleetHistoryJson } from "../../workers/primary/observe/history-json.ts";
import { launchChromium } from "../helpers/browser.ts";
import { joinAcross, leave } from "../helpers/chat.ts";
import { admin, fleetStatus, ROOT, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";

const OUTPUT = join(ROOT, "test", "output");
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium(); // once per file
});

afterAll(async () => {
  await browser?.close();
});

/** A chart's data as uPlot holds it: x (seconds), then one array per series (page-side code). */
const chartData = (page: Page, id: string) =>
  page.evaluate(
    `(() => {
      const held = FleetCharts.plots.get(${JSON.stringify(id)});
      return held ? held.plot.data.map((column) => [...column]) : null;
    })()`,
  ) as Promise<(number | null)[][] | null>;

/** Steady requests on `connections` keep-alive connections for `ms`; resolves with the count. */
async function load(url: string, ms: number, connections = 4): Promise<number> {
  const until = Date.now() + ms;
  let sent = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        await (await fetch(url)).text();
        sent += 1;
      }
    }),
  );
  return sent;
}

describe("dashboard charts", () => {
  test("the charts show the load, sockets, pub/sub and reload that came before the page opened, then go on live; hovering shows values", async () => {
    const fleet = await startReadyFleet({ env: { DRAIN_WINDOW_MS: "50" } });
    const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    const chat = await joinAcross(fleet.port, "charts", 2, 2);
    try {
      // Before the page exists: a reload, 2.5 s of requests, chat messages across the fleet.
      expect((await admin(fleet.url("/admin/reload"))).status).toBe(202);
      await waitFor("the reload to complete", async () => {
        const s = await fleetStatus(fleet.url);
        return s.fleet.lastReload?.outcome === "complete";
      });
      // The reload closed the chat sockets (1001); join again on the new workers, once the old
      // ones are gone: a retiring worker's listener stays open for its drain window, and a client
      // that joined there (same index as its successor) was closed a moment later.
      await leave(chat);
      await waitFor("the retiring workers to exit", async () => {
        const s = await fleetStatus(fleet.url);
        return s.workers.length === 2 && s.workers.every((w) => w.state === "ready");
      });
      chat.splice(0, chat.length, ...(await joinAcross(fleet.port, "charts", 2, 2)));
      // Every client counted by its worker before the load.
      await waitFor(
        () => `the workers to count ${chat.length} WebSockets`,
        async () => {
          const s = await fleetStatus(fleet.url);
          return s.workers.reduce((n, w) => n + (w.websockets ?? 0), 0) === chat.length;
        },
      );
      const talking = (async () => {
        for (let i = 0; i < 60; i++) {
          chat[i % chat.length]?.ws.send(`message ${i}`);
          await Bun.sleep(40);
        }
      })();
      await Promise.all([load(fleet.url("/hello"), 2500), talking]);
      const loaded = Date.now();
      await waitFor("a sample after the load", async () => {
        const res = await fetch(fleet.url(`/admin/history?since=${loaded}`), {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        return ((await res.json()) as FleetHistoryJson).samples.length > 0;
      });
      const openedAt = Date.now();

      await page.goto(fleet.url("/admin"));
      await page.fill("#token", TOKEN);
      await page.click("button[type=submit]");
      await page.waitForSelector("#chart-rps canvas");
      await page.waitForSelector("#chart-pubsub canvas");

      const labels = await page.$$eval("#charts [role=img]", (els) =>
        els.map((el) => el.getAttribute("aria-label")),
      );
      expect(labels).toEqual([
        "requests per second, per worker and for the whole fleet",
        "latency p50 and p99, milliseconds",
        "memory (RSS) per process, megabytes",
        "open WebSockets and SSE streams",
        "pub/sub messages per second",
        "app counters per second (the hooks' stats, e.g. database queries and errors)",
      ]);

      // Drawn from /admin/history: points from before the page opened carry the load.
      const rps = (await chartData(page, "rps")) as (number | null)[][];
      const xs = rps[0] as number[];
      const before = xs
        .map((x, i) => [x, rps[1]?.[i] ?? 0] as const)
        .filter(([x]) => x * 1000 < openedAt);
      expect(Math.max(...before.map(([, v]) => v ?? 0))).toBeGreaterThan(20);
      expect(rps.length).toBe(4); // x, fleet, worker 0, worker 1
      const latency = (await chartData(page, "latency")) as (number | null)[][];
      expect(Math.max(...(latency[2] ?? []).map((v) => v ?? 0))).toBeGreaterThan(0);
      const sockets = (await chartData(page, "websockets")) as (number | null)[][];
      // The last sample before the page opened: the chat clients joined after the reload.
      expect(sockets[1]?.[before.length - 1]).toBe(chat.length);
      const pubsub = (await chartData(page, "pubsub")) as (number | null)[][];
      expect(Math.max(...(pubsub[1] ?? []).map((v) => v ?? 0))).toBeGreaterThan(5);
      // The app's own counters (the test app's stats hook counts its /hello answers).
      const app = (await chartData(page, "app")) as (number | null)[][];
      expect(app.length).toBe(2); // x, hellos
      expect(
        Math.max(...(app[1] ?? []).slice(0, before.length).map((v) => v ?? 0)),
      ).toBeGreaterThan(20);
      const memory = (await chartData(page, "memory")) as (number | null)[][];
      expect(memory.length).toBe(5); // x, primary, worker 0, worker 1, ticker#0
      expect(await page.textContent("#events")).toContain("reload complete");

      // Hover over the busiest second: the legend shows its values (each try places the mouse
      // anew, since a live sample arriving in between shifts the time axis).
      const busiest = before.reduce((a, b) => ((b[1] ?? 0) > (a[1] ?? 0) ? b : a));
      const hovered = await waitFor("the legend to show the busiest second", async () => {
        const point = (await page.evaluate(
          `(() => {
            const plot = FleetCharts.plots.get("rps").plot;
            const box = document.querySelector("#chart-rps .u-over").getBoundingClientRect();
            return { x: box.left + plot.valToPos(${busiest[0]}, "x"), y: box.top + box.height / 2 };
          })()`,
        )) as { x: number; y: number };
        await page.mouse.move(point.x - 1, point.y);
        await page.mouse.move(point.x, point.y);
        const legend = await page.$$eval("#chart-rps .u-legend .u-series", (rows) =>
          rows.map((r) => r.textContent ?? ""),
        );
        const shown = Number(
          (legend.find((t) => t.includes("fleet")) ?? "").replace(/[^\d.]/g, ""),
        );
        // The legend prints toFixed(1); Math.round(v * 10) / 10 differs from it for 1 value in 25
        // (0.15 → "0.1" but 0.2), which made this wait time out now and then.
        return shown === Number((busiest[1] ?? 0).toFixed(1)) ? legend : null;
      });
      expect(hovered[0]).toMatch(/^time.*\d:\d\d:\d\d/); // and the second it is

      // Live: new samples arrive without reloading the page.
      const shown = xs.length;
      await waitFor("a live sample on the chart", async () => {
        const now = (await chartData(page, "rps")) as number[][];
        return (now[0]?.length ?? 0) > shown;
      });
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, "dashboard-charts.png"), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await leave(chat);
      await page.close();
    }
  }, 30_000);
});
