import { expect, test } from "bun:test";
import { chromium, type Page } from "playwright-core";
import { createApp } from "../../app/index.ts";
import { PROJECT_APP, startReadyFleet, waitFor } from "../helpers/fleet.ts";
import { fakeWorker } from "../helpers/worker.ts";

/**
 * The template's chat (app/routes/chat.ts, app/public/chat.html). The fleet below serves the
 * project's app/ (PROJECT_APP): fleet tests serve the runtime's own test app unless told otherwise.
 */

test("GET /chat is the chat page; a bad room is 400 before the upgrade", async () => {
  const app = createApp(fakeWorker());
  const page = await app.request("/chat?room=lobby");
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("/chat/ws?room=");
  const bad = await app.request("/chat/ws?room=no%20spaces");
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({ error: "room: use 1-32 of A-Z a-z 0-9 _ -" });
});

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
  15_000,
);
