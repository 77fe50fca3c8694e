import { describe, expect, test } from "bun:test";
import {
  encodeEvent,
  heartbeatEvery,
  type SseParts,
  SseStreams,
} from "../../workers/child/http/sse.ts";
import { waitFor } from "../helpers/fleet.ts";
import { readBody } from "../helpers/sse.ts";
import { localPubSub } from "../helpers/worker.ts";

const decoder = new TextDecoder();

/** A worker's SSE streams on in-process pub/sub, with a count of live subscriptions. */
function setup(over: Partial<SseParts> = {}) {
  const pubsub = localPubSub();
  const drain = new AbortController();
  const warnings: string[] = [];
  let subscribed = 0;
  const streams = new SseStreams({
    subscribe: (topic, handler) => {
      subscribed += 1;
      const off = pubsub.subscribe(topic, handler);
      return () => {
        subscribed -= 1;
        off();
      };
    },
    signal: drain.signal,
    heartbeatMs: 60_000,
    maxBufferedBytes: 1024 * 1024,
    idleTimeoutS: 0,
    log: { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} },
    ...over,
  });
  return { streams, publish: pubsub.publish, drain, warnings, subscribed: () => subscribed };
}

const request = (signal?: AbortSignal) => new Request("http://x/feed", signal ? { signal } : {});

describe("worker.sse (workers/child/http/sse.ts)", () => {
  test("writes its first event at once, then each message on the topics as an event", async () => {
    const { streams, publish } = setup();
    const res = streams.open(request(), ["a", "b"], { first: { event: "hello", data: "hi" } });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const body = readBody(res);
    await waitFor("the first event", () => body.text() === "event: hello\ndata: hi\n\n");
    publish("a", "one\ntwo");
    publish("c", "not subscribed");
    publish("b", new TextEncoder().encode("bytes"));
    await waitFor("two messages", () => body.text().split("\n\n").length === 4);
    expect(body.text()).toBe("event: hello\ndata: hi\n\ndata: one\ndata: two\n\ndata: bytes\n\n");
    expect(streams.size).toBe(1);
  });

  test("without a first event it writes an open comment at once", async () => {
    const body = readBody(setup().streams.open(request(), "a"));
    await waitFor("the open comment", () => body.text() === ": open\n\n");
  });

  test("maps messages with options.event; null skips one, a throw skips it with a warning", async () => {
    const { streams, publish, warnings } = setup();
    const body = readBody(
      streams.open(request(), "a", {
        event: (data) => {
          if (data === "skip") return null;
          if (data === "bad") return { event: "two\nlines", data: "x" };
          return { event: "news", id: String(data).length.toString(), data: String(data) };
        },
      }),
    );
    for (const m of ["skip", "bad", "hello"]) publish("a", m);
    await waitFor("the mapped event", () => body.text().includes("event: news"));
    expect(body.text()).toBe(": open\n\nevent: news\nid: 5\ndata: hello\n\n");
    publish("a", "bad");
    expect(warnings).toEqual([
      "sse: a message on a was skipped (once per stream): sse: event must be one line",
    ]);
  });

  test("writes a heartbeat comment every heartbeatMs", async () => {
    const { streams } = setup({ heartbeatMs: 60_000 });
    const body = readBody(streams.open(request(), "a", { heartbeatMs: 10 }));
    await waitFor("three heartbeats", () => body.text().split(": heartbeat\n\n").length > 3);
    expect(body.text()).toStartWith(": open\n\n: heartbeat\n\n");
  });

  test("beats at least twice per IDLE_TIMEOUT_S, so Bun's idle timeout never cuts a quiet stream", () => {
    expect(heartbeatEvery(15_000, 10)).toBe(5000);
    expect(heartbeatEvery(3000, 10)).toBe(3000);
    expect(heartbeatEvery(15_000, 0)).toBe(15_000); // no idle timeout
  });

  test("ends with a bye event when worker.signal aborts, and unsubscribes", async () => {
    const { streams, drain, subscribed } = setup();
    const body = readBody(streams.open(request(), ["a", "b"]));
    expect(subscribed()).toBe(2);
    drain.abort();
    expect(await body.ended).toBe("ended");
    expect(body.text()).toBe(": open\n\nevent: bye\ndata: worker draining\n\n");
    expect(subscribed()).toBe(0);
    expect(streams.size).toBe(0);
  });

  test("opened while draining: the first event, bye, and the end", async () => {
    const { streams, drain, subscribed } = setup();
    drain.abort();
    const body = readBody(streams.open(request(), "a"));
    expect(await body.ended).toBe("ended");
    expect(body.text()).toBe(": open\n\nevent: bye\ndata: worker draining\n\n");
    expect(subscribed()).toBe(0);
  });

  test("unsubscribes and stops beating when the client goes away", async () => {
    const { streams, publish, subscribed } = setup();
    const client = new AbortController();
    const body = readBody(streams.open(request(client.signal), "a", { heartbeatMs: 10 }));
    await waitFor("the open comment", () => body.text().length > 0);
    client.abort();
    await waitFor("the unsubscribe", () => subscribed() === 0);
    expect(streams.size).toBe(0);
    publish("a", "after");
    expect(await body.ended).toBe("cut");
    expect(body.text()).not.toContain("after");
  });

  test("cuts a client that does not read once it is maxBufferedBytes behind, and counts it", async () => {
    const { streams, publish, warnings, subscribed } = setup();
    const res = streams.open(request(), "a", { maxBufferedBytes: 10_000 }); // never read
    const message = "x".repeat(1000);
    for (let i = 0; i < 100; i++) publish("a", message);
    expect(streams.cut).toBe(1);
    expect(streams.size).toBe(0);
    expect(subscribed()).toBe(0);
    expect(warnings).toEqual([
      "sse: a client of /feed is more than 10000 bytes behind (SSE_MAX_BUFFERED_BYTES): stream cut",
    ]);
    expect(await readBody(res).ended).toBe("cut");
  });

  test("a first event bigger than the bound cuts the stream before it subscribes", async () => {
    const { streams, subscribed } = setup();
    const first = { data: "z".repeat(2000) };
    const res = streams.open(request(), "a", { first, maxBufferedBytes: 1024 });
    expect([streams.cut, streams.size, subscribed()]).toEqual([1, 0, 0]);
    expect(await readBody(res).ended).toBe("cut");
  });

  test("a client that reads is never cut, however much passes through", async () => {
    const { streams, publish } = setup();
    const body = readBody(streams.open(request(), "a", { maxBufferedBytes: 10_000 }));
    const message = "y".repeat(1000);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 5; i++) publish("a", message); // 5 kB a turn, 250 kB in all
      await waitFor("the client to catch up", () => body.text().length >= (round + 1) * 5 * 1008);
    }
    expect(streams.cut).toBe(0);
    expect(streams.size).toBe(1);
  });

  test("bad arguments throw a clear error and open nothing", () => {
    const { streams, subscribed } = setup();
    expect(() => streams.open(request(), [])).toThrow("topics must be a non-empty string");
    expect(() => streams.open(request(), "")).toThrow("topics must be a non-empty string");
    expect(() => streams.open(request(), "a", { heartbeatMs: 0 })).toThrow(
      "heartbeatMs must be a whole number >= 1",
    );
    expect(() => streams.open(request(), "a", { maxBufferedBytes: 1.5 })).toThrow(
      "maxBufferedBytes must be a whole number >= 1",
    );
    expect(() => streams.open(request(), "a", { first: { id: "1\n2", data: "" } })).toThrow(
      "id must be one line",
    );
    expect(streams.size).toBe(0);
    expect(subscribed()).toBe(0);
  });

  test("encodeEvent splits data on every kind of line break", () => {
    expect(decoder.decode(encodeEvent({ data: "a\r\nb\rc\nd", retry: 500 }))).toBe(
      "retry: 500\ndata: a\ndata: b\ndata: c\ndata: d\n\n",
    );
    expect(decoder.decode(encodeEvent({ data: "" }))).toBe("data: \n\n");
  });
});
