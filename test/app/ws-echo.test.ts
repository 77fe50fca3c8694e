import { describe, expect, test } from "bun:test";
import { createApp } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

const worker = fakeWorker({ index: 3, pid: 4242, context: { shard: "c" } });

describe("template app: GET /ws/echo (app/routes/ws-echo.ts)", () => {
  test("GET /ws/echo without an Upgrade header answers 426 JSON", async () => {
    const res = await createApp(worker).request("/ws/echo");
    expect(res.status).toBe(426);
    expect(await res.json()).toEqual({
      error: "Upgrade Required: connect with a WebSocket client",
    });
  });
});
