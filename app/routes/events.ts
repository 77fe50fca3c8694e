import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { FleetWorker } from "../../workers/fleet.ts";

/** Resolves after `ms`, or at once when `signal` aborts (a drain must not wait out a tick). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * `GET /events`: a Server-Sent Events stream, one `tick` a second, that ends with a `bye` event
 * when this worker begins to drain (`worker.signal`), so a stop or reload never waits for it;
 * the browser's EventSource then reconnects to a worker that serves.
 */
export function events(worker: FleetWorker, everyMs = 1000): Hono {
  return new Hono().get("/events", (c) =>
    streamSSE(c, async (stream) => {
      let id = 0;
      while (!worker.signal.aborted && !stream.aborted) {
        const data = JSON.stringify({ worker: worker.index, time: Date.now() });
        await stream.writeSSE({ event: "tick", id: String(id++), data });
        await pause(everyMs, worker.signal);
      }
      if (!stream.aborted) await stream.writeSSE({ event: "bye", data: "worker draining" });
    }),
  );
}
