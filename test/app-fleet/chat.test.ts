import { expect, test } from "bun:test";
import { chromium, type Page } from "playwright-core";
import { PROJECT_APP, scaled, startReadyFleet, waitFor } from "../helpers/fleet.ts";

/**
 * The template's chat (app/routes/chat.ts, app/public/chat.html) in a real browser, on a real
 * fleet serving the project's app/ (PROJECT_APP); the page and the room check in-process:
 * test/app/chat.test.ts.
 */

/** Debian's chromium (the one `.ci/run` installs), found on PATH. */
const CHROMIUM = Bun.which("chromium");

/** The worker a chat tab landed on, as its page shows it once joined. */
async function workerOf(page: Page): Promise<number> {
  const handle = await page.waitForFunction("document.body.dataset.worker");
  return Number(await handle.jsonValue());
}

test.skipIf(!CHROMIUM)(
  "two browser tabs of the chat on different workers see each other's messages",
  async () => {
    const fleet = await startReadyFleet({ env: PROJECT_APP });
    const browser = await chromium.launch({
      executablePath: CHROMIUM ?? "",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      // Each tab opens its own WebSocket; open tabs until two sit on different workers.
      const tabs = new Map<number, Page>();
      await waitFor("chat tabs on both workers", async () => {
        const page = await browser.newPage();
        await page.goto(fleet.url(`/chat?room=browser&name=tab${tabs.size}`));
        const worker = await workerOf(page);
        if (tabs.has(worker)) await page.close();
        else tabs.set(worker, page);
        return tabs.size === 2;
      });
      const [a, b] = [tabs.get(0), tabs.get(1)] as [Page, Page];
      await a.fill("#text", "hello from worker 0");
      await a.press("#text", "Enter");
      await b.fill("#text", "hello from worker 1");
      await b.press("#text", "Enter");
      for (const page of [a, b]) {
        await page.waitForFunction(
          `["hello from worker 0", "hello from worker 1"].every((t) => document.getElementById("log").textContent.includes(t))`,
        );
      }
      // Tab b got tab a's message from the other worker (relayed through the primary); its own
      // arrives through its own worker, so the two lines may stand in either order.
      const fromA = await b.locator("#log li", { hasText: "hello from worker 0" }).textContent();
      expect(fromA).toContain("(worker 0)");
    } finally {
      await browser.close();
    }
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  },
  // A browser and a fleet on a busy machine: the deadline scales with the load.
  scaled(30_000),
);
