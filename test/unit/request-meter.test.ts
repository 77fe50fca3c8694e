import { describe, expect, test } from "bun:test";
import { withLiveReloadClient } from "../../workers/child/http/live-reload.ts";
import { RequestMeter } from "../../workers/child/http/request-meter.ts";

const app = {
  fetch: (request: Request) =>
    request.url.endsWith("/boom")
      ? Promise.reject(new Error("boom"))
      : Promise.resolve(new Response("ok", { status: request.url.endsWith("/gone") ? 404 : 200 })),
};

describe("request meter", () => {
  test("counts answered requests by method and status, in flight, and the histogram", async () => {
    const meter = new RequestMeter(true, null);
    const wrapped = meter.wrap(app);
    const pending = wrapped.fetch(new Request("http://x/a"));
    expect(meter.inFlight).toBe(1);
    await pending;
    await wrapped.fetch(new Request("http://x/gone", { method: "POST" }));
    // Bun's Request constructor turns an unknown method into GET; a server request keeps it.
    const brew = { method: "BREW", url: "http://x/a", headers: new Headers() } as Request;
    await wrapped.fetch(brew);
    await expect(Promise.resolve(wrapped.fetch(new Request("http://x/boom")))).rejects.toThrow();
    const snap = meter.snapshot();
    expect(snap.requests).toBe(4);
    expect(snap.inFlight).toBe(0);
    expect(snap.counts.sort()).toEqual([
      ["GET", 200, 1],
      ["GET", 500, 1],
      ["OTHER", 200, 1],
      ["POST", 404, 1],
    ]);
    expect(snap.buckets.reduce((a, b) => a + b, 0)).toBe(4);
  });

  test("MAX_REQUESTS: the limit is reached once, after that many answered requests", async () => {
    let calls = 0;
    const meter = new RequestMeter(false, null, 3, () => calls++);
    const wrapped = meter.wrap(app);
    for (let i = 0; i < 2; i++) await wrapped.fetch(new Request("http://x/a"));
    expect(calls).toBe(0);
    for (let i = 0; i < 5; i++) await wrapped.fetch(new Request("http://x/a"));
    expect(calls).toBe(1);
  });
});

describe("app wrappers", () => {
  test("keep the app's websocket handlers (the meter and dev mode's live reload)", () => {
    const websocket = { message() {} };
    const withSockets = { fetch: () => new Response("ok"), websocket };
    expect(new RequestMeter(true, null).wrap(withSockets).websocket).toBe(websocket);
    expect(withLiveReloadClient(withSockets).websocket).toBe(websocket);
    expect("websocket" in new RequestMeter(true, null).wrap({ fetch: () => new Response() })).toBe(
      false,
    );
  });
});
