import { describe, expect, test } from "bun:test";
import { createApp } from "../../app/index.ts";
import { fakeWorker, localPubSub } from "../helpers/worker.ts";

/** Reads an SSE body to its end. */
const readAll = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

describe("template app: GET /events (app/routes/events.ts)", () => {
  test("GET /events says hello and ends with a bye event at once when the worker already drains", async () => {
    const drain = new AbortController();
    drain.abort();
    const res = await createApp(fakeWorker({ index: 3, signal: drain.signal })).request("/events");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(await readAll(res)).toBe(
      'event: hello\ndata: {"worker":3,"room":"lobby"}\n\nevent: bye\ndata: worker draining\n\n',
    );
  });

  test("GET /events?room=r carries what is said in room r, then ends when worker.signal aborts", async () => {
    const drain = new AbortController();
    const pubsub = localPubSub();
    const app = createApp(fakeWorker({ ...pubsub, signal: drain.signal }));
    const body = readAll(await app.request("/events?room=r"));
    pubsub.publish("chat:other", "not this room");
    pubsub.publish("chat:r", '{"type":"message","text":"hi"}');
    drain.abort();
    expect(await body).toBe(
      'event: hello\ndata: {"worker":0,"room":"r"}\n\n' +
        'data: {"type":"message","text":"hi"}\n\n' +
        "event: bye\ndata: worker draining\n\n",
    );
  });

  test("GET /events with a bad room name is 400", async () => {
    const res = await createApp(fakeWorker()).request("/events?room=no%20spaces");
    expect(res.status).toBe(400);
  });
});
