import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { FleetWorker } from "../../workers/fleet.ts";
import { ROOM, roomTopic } from "./chat.ts";

/** Messages a client may fall behind by; past that its stream ends and EventSource reconnects. */
export const MAX_QUEUED = 1000;

/**
 * Resolves after `ms`, at once when `signal` aborts (a drain must not wait out a tick), or when
 * the function handed to `onWake` is called (a message arrived).
 */
function pause(ms: number, signal: AbortSignal, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      onWake(() => {});
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
    onWake(done);
  });
}

/**
 * `GET /events?room=lobby`: a Server-Sent Events stream of a chat room (see chat.ts). Every
 * message said in the room, on any worker of the fleet (and with PUBSUB_URL on any fleet),
 * arrives as a `message` event, through `worker.subscribe`; a `tick` comes every second. The
 * stream ends with a `bye` event when this worker begins to drain (`worker.signal`), so a stop or
 * reload never waits for it; the browser's EventSource then reconnects to a worker that serves.
 */
export function events(worker: FleetWorker, everyMs = 1000): Hono {
  return new Hono().get("/events", (c) => {
    const room = c.req.query("room") ?? "lobby";
    if (!ROOM.test(room)) return c.json({ error: "room: use 1-32 of A-Z a-z 0-9 _ -" }, 400);
    return streamSSE(c, async (stream) => {
      const queue: string[] = [];
      let overflow = false;
      let wake = () => {};
      const unsubscribe = worker.subscribe(roomTopic(room), (data) => {
        if (typeof data !== "string") return;
        if (queue.length < MAX_QUEUED) queue.push(data);
        else overflow = true;
        wake();
      });
      try {
        let id = 0;
        let nextTick = 0;
        while (!worker.signal.aborted && !stream.aborted && !overflow) {
          for (let data = queue.shift(); data !== undefined; data = queue.shift()) {
            await stream.writeSSE({ event: "message", id: String(id++), data });
          }
          const now = performance.now();
          if (now >= nextTick) {
            const data = JSON.stringify({ worker: worker.index, time: Date.now() });
            await stream.writeSSE({ event: "tick", id: String(id++), data });
            nextTick = now + everyMs;
          }
          if (queue.length === 0) {
            await pause(nextTick - performance.now(), worker.signal, (w) => {
              wake = w;
            });
          }
        }
        if (stream.aborted) return;
        const why = overflow ? `more than ${MAX_QUEUED} messages behind` : "worker draining";
        await stream.writeSSE({ event: "bye", data: why });
      } finally {
        unsubscribe();
      }
    });
  });
}
