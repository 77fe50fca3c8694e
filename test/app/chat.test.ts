import { expect, test } from "bun:test";
import { createApp } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

/** The template's chat page and room check (two browser tabs on a fleet: test/app-fleet/). */

test("GET /chat is the chat page; a bad room is 400 before the upgrade", async () => {
  const app = createApp(fakeWorker());
  const page = await app.request("/chat?room=lobby");
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("/chat/ws?room=");
  const bad = await app.request("/chat/ws?room=no%20spaces");
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({ error: "room: use 1-32 of A-Z a-z 0-9 _ -" });
});
