import { describe, expect, test } from "bun:test";
import { LIVE_RELOAD_CLIENT, LiveReload } from "../../workers/child/http/live-reload.ts";
import { RequestMeter } from "../../workers/child/http/request-meter.ts";
import { pipeline } from "../../workers/child/http/serve.ts";
import { DURATION_BUCKETS } from "../../workers/snapshot.ts";

const app = {
  fetch: (request: Request) =>
    request.url.endsWith("/boom")
      ? Promise.reject(new Error("boom"))
      : Promise.resolve(new Response("ok", { status: request.url.endsWith("/gone") ? 404 : 200 })),
};

describe("request meter", () => {
  test("counts answered requests by method and status, in flight, and the histogram", async () => {
    const meter = new RequestMeter({ metered: true, access: null });
    const fetch = meter.wrap(app);
    const pending = fetch(new Request("http://x/a"));
    expect(meter.inFlight).toBe(1);
    await pending;
    await fetch(new Request("http://x/gone", { method: "POST" }));
    // Bun's Request constructor turns an unknown method into GET; a server request keeps it.
    const brew = { method: "BREW", url: "http://x/a", headers: new Headers() } as Request;
    await fetch(brew);
    await expect(Promise.resolve(fetch(new Request("http://x/boom")))).rejects.toThrow();
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

  test("sync answers, throws and upgrades: counted in first-seen order, each in its bucket", () => {
    const busyUntil = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end) {}
    };
    const sync = {
      fetch: (request: Request) => {
        const path = new URL(request.url).pathname;
        if (path === "/throw") throw new Error("boom");
        if (path === "/upgrade") return undefined;
        if (path === "/slow") busyUntil(3);
        return new Response("ok", { status: path === "/teapot" ? 418 : 201 });
      },
    };
    const meter = new RequestMeter({ metered: true, access: null });
    const fetch = meter.wrap(sync);
    expect((fetch(new Request("http://x/teapot", { method: "PUT" })) as Response).status).toBe(418);
    for (let i = 0; i < 3; i++) fetch(new Request("http://x/"));
    expect(fetch(new Request("http://x/upgrade"))).toBeUndefined();
    expect(() => fetch(new Request("http://x/throw", { method: "DELETE" }))).toThrow("boom");
    fetch(new Request("http://x/slow"));
    const snap = meter.snapshot();
    expect(snap.metered).toBe(true);
    expect(snap.requests).toBe(7);
    expect(snap.inFlight).toBe(0);
    // Unsorted: the order each method and status was first seen, as before (a Map's order).
    expect(snap.counts).toEqual([
      ["PUT", 418, 1],
      ["GET", 201, 4],
      ["GET", 101, 1],
      ["DELETE", 500, 1],
    ]);
    // The slow one took more than 2.5 ms (more under load, so no exact bucket for any).
    const above = DURATION_BUCKETS.indexOf(0.0025) + 1;
    expect(snap.buckets).toHaveLength(DURATION_BUCKETS.length + 1);
    expect(snap.buckets.slice(above).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(snap.buckets.reduce((a, b) => a + b, 0)).toBe(7);
    expect(snap.durationSum).toBeGreaterThanOrEqual(0.003);
    expect(snap.durationSum).toBeLessThan(0.5);
  });

  test("the stamp is applied once to every answer, after it is counted (sync and async)", async () => {
    const meter = new RequestMeter({ metered: true, access: null });
    const seen: [string, number][] = [];
    const stamp = (response: Response | undefined) => {
      seen.push([response?.statusText ?? "upgrade", meter.requests]);
      return response;
    };
    const mixed = {
      fetch: (request: Request) =>
        request.url.endsWith("/async")
          ? Promise.resolve(new Response("a", { statusText: "async" }))
          : request.url.endsWith("/ws")
            ? undefined
            : new Response("s", { statusText: "sync" }),
    };
    const fetch = meter.wrap(mixed, stamp);
    fetch(new Request("http://x/sync"));
    await fetch(new Request("http://x/async"));
    fetch(new Request("http://x/ws"));
    expect(seen).toEqual([
      ["sync", 1],
      ["async", 2],
      ["upgrade", 3],
    ]);
  });

  test("a status outside 100-599 is still counted", () => {
    const odd = { fetch: () => ({ status: 999 }) as Response };
    const meter = new RequestMeter({ metered: true, access: null });
    meter.wrap(odd)(new Request("http://x/"));
    expect(meter.snapshot().counts).toEqual([["GET", 999, 1]]);
  });

  test("MAX_REQUESTS: the limit is reached once, after that many answered requests", async () => {
    let calls = 0;
    const meter = new RequestMeter({
      metered: false,
      access: null,
      limit: 3,
      onLimit: () => calls++,
    });
    const fetch = meter.wrap(app);
    for (let i = 0; i < 2; i++) await fetch(new Request("http://x/a"));
    expect(calls).toBe(0);
    for (let i = 0; i < 5; i++) await fetch(new Request("http://x/a"));
    expect(calls).toBe(1);
  });

  test("METRICS=0: only the total and in-flight are kept (what MAX_REQUESTS needs)", async () => {
    const meter = new RequestMeter({ metered: false, access: null, limit: 10 });
    const fetch = meter.wrap(app);
    const pending = fetch(new Request("http://x/a"));
    expect(meter.inFlight).toBe(1);
    await pending;
    await fetch(new Request("http://x/gone"));
    const snap = meter.snapshot();
    expect(snap).toMatchObject({ metered: false, requests: 2, inFlight: 0, counts: [] });
    expect(snap.buckets.every((n) => n === 0)).toBe(true);
    expect(snap.durationSum).toBe(0);
  });

  test("MAX_REQUESTS: when the limit is reached, the last request is already counted", () => {
    let seen: ReturnType<RequestMeter["snapshot"]> | null = null;
    const meter = new RequestMeter({
      metered: true,
      access: null,
      limit: 2,
      onLimit: () => {
        seen = meter.snapshot();
      },
    });
    const fetch = meter.wrap({ fetch: () => new Response("ok") });
    fetch(new Request("http://x/"));
    fetch(new Request("http://x/"));
    expect(seen).toMatchObject({ requests: 2, inFlight: 0, counts: [["GET", 200, 2]] });
  });
});

describe("app wrappers", () => {
  const settings = { metrics: true, accessLog: false, maxRequests: 0 };
  const parts = (liveReload: LiveReload | null) => ({
    access: { name: "worker 0", bound: {} },
    onLimit: () => {},
    liveReload,
  });

  test("keep the app's websocket handlers (the meter and dev mode's live reload)", () => {
    const websocket = { message() {} };
    const withSockets = { fetch: () => new Response("ok"), websocket };
    expect(pipeline(withSockets, settings, parts(null)).app.websocket).toBe(websocket);
    const dev = pipeline(withSockets, { ...settings, metrics: false }, parts(new LiveReload()));
    expect(dev.meter).toBeNull();
    expect(dev.app.websocket).toBe(websocket);
    expect(
      "websocket" in pipeline({ fetch: () => new Response() }, settings, parts(null)).app,
    ).toBe(false);
  });

  test("in dev mode with metrics on, a page gets the client injected and is counted once", async () => {
    const page = {
      fetch: () => new Response("<p>hi</p>", { headers: { "content-type": "text/html" } }),
    };
    const { app, meter } = pipeline(page, settings, parts(new LiveReload()));
    const res = await app.fetch(new Request("http://x/"));
    expect(await res?.text()).toBe(`<p>hi</p>${LIVE_RELOAD_CLIENT}`);
    expect(meter?.snapshot().requests).toBe(1);
  });

  test("with nothing to count and no dev mode, the app is served as is", () => {
    const off = { metrics: false, accessLog: false, maxRequests: 0 };
    const served = pipeline(app, off, parts(null));
    expect(served.app).toBe(app);
    expect(served.meter).toBeNull();
  });
});
