/**
 * The app the real-time bench serves, both on the fleet and in one process (the reference):
 * `/ws?topic=T` subscribes the socket to T and publishes every frame it receives to `to` (default
 * T); `POST /pub?topic=T&n=N&size=S` publishes N messages of S bytes from the server, in slices
 * that yield between them so a worker's IPC and sockets drain as it goes (`&worker=I`: only on
 * worker I, 409 elsewhere); `POST /block?worker=I&ms=M&after=A` answers, then after A ms stalls
 * worker I's event loop for M ms (a worker that cannot keep up).
 */
import type { ServerWebSocket } from "bun";
import { Hono } from "hono";
import { upgradeWebSocket, websocket } from "hono/bun";
import type { FleetWorker } from "../../../workers/fleet.ts";

/** The part of FleetWorker the bench app uses. */
export type Publisher = Pick<FleetWorker, "index" | "publish">;

/** Messages published per slice before yielding to the event loop. */
const SLICE = 256;

/** Builds the bench app on `publisher` (a fleet worker, or one process's server.publish). */
export function realtimeApp(publisher: Publisher) {
  const app = new Hono();
  const elsewhere = (worker: string | undefined) =>
    worker !== undefined && Number(worker) !== publisher.index;
  app.post("/block", (c) => {
    if (elsewhere(c.req.query("worker"))) return c.json({ worker: publisher.index }, 409);
    const ms = Math.min(Number(c.req.query("ms") ?? 1000), 30_000);
    const after = Math.min(Number(c.req.query("after") ?? 0), 30_000);
    setTimeout(() => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // stalled: reads no IPC
      }
    }, after);
    return c.json({ blocked: publisher.index });
  });
  app.post("/pub", async (c) => {
    if (elsewhere(c.req.query("worker"))) return c.json({ worker: publisher.index }, 409);
    const topic = c.req.query("topic") ?? "bench";
    const n = Math.min(Number(c.req.query("n") ?? 1000), 10_000_000);
    const payload = "x".repeat(Math.min(Number(c.req.query("size") ?? 32), 65536));
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      publisher.publish(topic, payload);
      if (i % SLICE === SLICE - 1) await Bun.sleep(0);
    }
    return c.json({ published: n, ms: performance.now() - started, worker: publisher.index });
  });
  app.get(
    "/ws",
    upgradeWebSocket((c) => {
      const topic = c.req.query("topic") ?? "bench";
      const to = c.req.query("to") ?? topic;
      return {
        onOpen(_event, ws) {
          (ws.raw as ServerWebSocket).subscribe(topic);
          ws.send(JSON.stringify({ worker: publisher.index }));
        },
        onMessage(event) {
          publisher.publish(to, typeof event.data === "string" ? event.data : "");
        },
      };
    }),
  );
  return { fetch: app.fetch, websocket };
}

/** As an APP_MODULE for the fleet. */
export default (worker: FleetWorker) => realtimeApp(worker);
