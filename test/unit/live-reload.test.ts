import { describe, expect, test } from "bun:test";
import { injectClient, LIVE_RELOAD_CLIENT } from "../../workers/child/http/live-reload.ts";
import { createLog } from "../../workers/log.ts";
import { LiveReloadHub } from "../../workers/primary/dev/live-reload.ts";
import type { ChildProcess } from "../../workers/primary/worker-process.ts";

/** Enough of a ChildProcess for the hub: what it was sent, and an exit the test controls. */
function fakeWorker(extra = false) {
  const sent: unknown[] = [];
  const exit = Promise.withResolvers<number>();
  const worker = {
    alive: true,
    name: "worker (fake)",
    init: { extra: extra ? { name: "job", module: "x" } : null },
    proc: { send: (m: unknown) => sent.push(m), exited: exit.promise },
  } as unknown as ChildProcess;
  return { worker, sent, exit };
}

const generations = (sent: unknown[]) => sent.map((m) => (m as { generation: number }).generation);

describe("live reload, primary side", () => {
  test("a ready HTTP worker hears the count; an extra does not", () => {
    const hub = new LiveReloadHub(createLog("test"));
    const http = fakeWorker();
    const extra = fakeWorker(true);
    hub.ready(http.worker);
    hub.ready(extra.worker);
    expect(http.sent).toEqual([{ fleet: "bun-fleet/1", kind: "live-reload", generation: 0 }]);
    expect(extra.sent).toEqual([]);
  });

  test("after a reload the serving workers hear the next count only once the retired ones exited", async () => {
    const hub = new LiveReloadHub(createLog("test"));
    const retired = fakeWorker();
    const serving = fakeWorker();
    const done = hub.completed([retired.worker], () => [serving.worker]);
    await Bun.sleep(5);
    expect(serving.sent).toEqual([]); // the old code still listens: pages must not reload yet
    retired.exit.resolve(0);
    await done;
    expect(generations(serving.sent)).toEqual([1]);
  });
});

describe("live reload client injection", () => {
  const html = (body: string, headers: Record<string, string> = {}) =>
    new Response(body, { headers: { "content-type": "text/html; charset=utf-8", ...headers } });

  test("goes before </body>, and drops the now wrong length and etag", async () => {
    const res = await injectClient(html("<html><body><p>hi</p></body></html>", { etag: '"x"' }));
    expect(await res.text()).toBe(`<html><body><p>hi</p>${LIVE_RELOAD_CLIENT}</body></html>`);
    expect(res.headers.has("etag")).toBe(false);
    expect(res.headers.get("content-type")).toStartWith("text/html");
  });

  test("is appended to HTML without </body>; keeps the status", async () => {
    const res = await injectClient(
      new Response("<p>x</p>", { status: 404, headers: { "content-type": "text/html" } }),
    );
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(`<p>x</p>${LIVE_RELOAD_CLIENT}`);
  });

  test("leaves other types and compressed HTML alone", async () => {
    const json = Response.json({ a: 1 });
    expect(await injectClient(json)).toBe(json);
    const gzipped = html("binary", { "content-encoding": "gzip" });
    expect(await injectClient(gzipped)).toBe(gzipped);
  });
});
