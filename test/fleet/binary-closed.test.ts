/**
 * The one-file build is whole (everything `/admin` loads is inside it) and closed (nothing in the
 * directory it runs from runs: no `bunfig.toml`, no `.env`). Run as it ships: copied alone into an
 * empty directory, without bun on PATH.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { collect } from "../../scripts/lib/lines.ts";
import { builtBinary } from "../helpers/binary.ts";
import { launchChromium } from "../helpers/browser.ts";
import { freePort, freshFetch, ROOT, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";

/** The binary alone in a new empty directory, removed when the file's tests end. */
const dirs: string[] = [];
async function shipped(): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), "bun-fleet-closed-"));
  dirs.push(dir);
  const file = join(dir, "bun-fleet");
  copyFileSync(await builtBinary(), file);
  return { dir, file };
}
const env = (dir: string) => ({ PATH: dir, HOME: dir, WORKERS: "1" });

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** What the page references from its own origin (stylesheets, scripts, images). */
function referenced(html: string): string[] {
  const urls = [...html.matchAll(/\s(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1] as string);
  return [...new Set(urls)];
}

describe("dist/bun-fleet is whole and closed", () => {
  test("alone in an empty directory, /admin's every asset answers 200 with the file's bytes, and Chromium draws the charts", async () => {
    const { dir, file } = await shipped();
    const fleet = await startReadyFleet({ command: [file], cwd: dir, env: env(dir) });
    const page = await (await browser.newContext()).newPage();
    try {
      const html = await (await freshFetch(fleet.url("/admin"))).text();
      const assets = referenced(html);
      expect(assets).toEqual(
        expect.arrayContaining([
          "/admin/assets/uplot.css",
          "/admin/assets/uplot.js",
          "/admin/assets/charts.js",
        ]),
      );
      const sources: Record<string, string> = {
        "/admin/assets/uplot.css": "node_modules/uplot/dist/uPlot.min.css",
        "/admin/assets/uplot.js": "node_modules/uplot/dist/uPlot.iife.min.js",
        "/admin/assets/charts.js": "workers/child/http/dashboard-charts.js",
      };
      for (const asset of assets) {
        const res = await freshFetch(fleet.url(asset));
        const body = await res.text();
        expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
        const source = sources[asset];
        if (source) expect(body).toBe(readFileSync(join(ROOT, source), "utf8"));
        else expect(body.length).toBeGreaterThan(0);
      }

      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      page.on("response", (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(fleet.url("/admin"));
      await page.fill("#token", TOKEN);
      await page.click("button[type=submit]");
      await page.waitForSelector("#chart-rps canvas", { timeout: 10_000 });
      await page.waitForSelector("#chart-memory canvas", { timeout: 10_000 });
      // Drawn by uPlot: the charts' script holds a plot per chart, with data.
      const plotted = await waitFor("the charts to hold samples", async () => {
        const n = (await page.evaluate(
          `FleetCharts.plots.get("memory")?.plot.data[0]?.length ?? 0`,
        )) as number;
        return n > 0 ? n : null;
      });
      expect(plotted).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  test("a bunfig.toml with a preload and a .env beside it run nothing and set nothing", async () => {
    const { dir, file } = await shipped();
    // Each hostile file leaves a mark if it ever runs.
    const mark = (name: string) =>
      `require("node:fs").writeFileSync(${JSON.stringify(join(dir, `ran-${name}-`))} + process.pid, "");\n`;
    writeFileSync(join(dir, "preload.ts"), mark("bunfig-preload"));
    writeFileSync(join(dir, "env-preload.ts"), mark("env-preload"));
    writeFileSync(
      join(dir, "hostile-app.ts"),
      `${mark("env-app")}export default { fetch: () => new Response("hostile\\n") };\n`,
    );
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    writeFileSync(
      join(dir, ".env"),
      "BUN_OPTIONS=--preload ./env-preload.ts\nAPP_MODULE=./hostile-app.ts\n",
    );
    // Started directly, not through the tether of startFleet: that is `bun`, which would itself
    // read the .env and bunfig.toml of the directory it starts in and hand them down.
    const port = await freePort();
    const proc = Bun.spawn([file], {
      cwd: dir,
      env: { ...env(dir), PORT: String(port), HOST: "127.0.0.1", ADMIN_TOKEN: TOKEN },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stdout = collect(proc.stdout);
    const stderr = collect(proc.stderr);
    try {
      await waitFor(
        () => `the banner\n${stdout()}\n${stderr()}`,
        () => stdout().includes("bun-fleet: serving"),
        10_000,
      );
      expect(readdirSync(dir).filter((name) => name.startsWith("ran-"))).toEqual([]);
      expect(stdout()).toContain("app app/index.ts (embedded)");
      // The embedded app answers, not the .env's: any path of it (this test runs on whatever app
      // app/index.ts is, the template's demo or the app that replaced it).
      const answer = await freshFetch(`http://127.0.0.1:${port}/no-route-of-the-hostile-app`);
      expect(await answer.text()).not.toBe("hostile\n");
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    } finally {
      proc.kill("SIGKILL"); // its workers drain and exit when their IPC channel drops
    }
  }, 60_000);
});
