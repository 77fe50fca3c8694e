import { describe, expect, test } from "bun:test";
import { createApp } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

const worker = fakeWorker({ index: 3, pid: 4242, context: { shard: "c" } });

/** Reads an SSE body to its end. */
const readAll = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

describe("template app: GET /events (app/routes/events.ts)", () => {
  test("GET /events ends with a bye event at once when the worker already drains", async () => {
    const drain = new AbortController();
    drain.abort();
    const res = await createApp({ ...worker, signal: drain.signal }).request("/events");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(await readAll(res)).toBe("event: bye\ndata: worker draining\n\n");
  });

  test("GET /events ticks until worker.signal aborts, then ends", async () => {
    const drain = new AbortController();
    const res = await createApp({ ...worker, signal: drain.signal }).request("/events");
    const body = readAll(res);
    await Bun.sleep(20); // the first tick is written at once; the next waits a second
    drain.abort();
    const text = await body;
    expect(text).toMatch(/^event: tick\ndata: \{"worker":3,"time":\d+\}\nid: 0\n\n/);
    expect(text).toEndWith("event: bye\ndata: worker draining\n\n");
  });
});
