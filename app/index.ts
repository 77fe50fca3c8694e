/**
 * The app: edit freely. The fleet (workers/) imports this module in every worker and calls the
 * default export with that worker's view of the fleet; it mounts /healthz, /readyz and /admin/*
 * in front (and, with WORKER_INDEX_HEADER on, stamps `x-worker-index` on every response).
 */
import { join } from "node:path";
import { Hono } from "hono";
import { serveStatic } from "hono/bun";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { notFound, onError } from "./errors.ts";
import type { FleetWorker } from "./fleet.ts";
import { echo } from "./routes/echo.ts";

/** Static files, resolved from this file so they are found whatever the working directory. */
export const PUBLIC_DIR = join(import.meta.dir, "public");

/** Builds the app for one worker. */
export function createApp(worker: FleetWorker): Hono {
  const app = new Hono();
  app.use(requestId(), secureHeaders());
  app.get("/hello", (c) => c.text(`Hello from worker ${worker.index}\n`));
  app.get("/worker", (c) =>
    c.json({ index: worker.index, pid: worker.pid, context: worker.context }),
  );
  app.route("/api", echo);
  // Last, so routes win; `/` serves public/index.html.
  app.use("/*", serveStatic({ root: PUBLIC_DIR }));
  app.notFound(notFound);
  app.onError(onError);
  return app;
}

export default createApp;
