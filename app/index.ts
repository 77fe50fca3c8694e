/**
 * The app: edit freely. The fleet (workers/) imports this module in every worker and calls the
 * default export with that worker's view of the fleet; it mounts /healthz, /readyz and /admin/*
 * in front (and, with WORKER_INDEX_HEADER on, stamps `x-worker-index` on every response).
 */
import { Hono } from "hono";
import { websocket } from "hono/bun";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { notFound, onError } from "./errors.ts";
import type { FleetWorker } from "./fleet.ts";
import { chat } from "./routes/chat.ts";
import { echo } from "./routes/echo.ts";

/** Builds the app for one worker. */
export function createApp(worker: FleetWorker): Hono {
  const app = new Hono();
  app.use(requestId(), secureHeaders());
  app.get("/", (c) => c.text(`Hello from worker ${worker.index}\n`));
  app.get("/worker", (c) =>
    c.json({ index: worker.index, pid: worker.pid, context: worker.context }),
  );
  app.route("/api", echo);
  app.route("/chat", chat(worker));
  app.notFound(notFound);
  app.onError(onError);
  return app;
}

/** Bun's `{ fetch, websocket }` shape: the WebSocket handlers go to `Bun.serve`. */
export default (worker: FleetWorker) => ({ fetch: createApp(worker).fetch, websocket });
