/**
 * The app: edit freely. The fleet (workers/) imports this module in every worker and calls the
 * default export with that worker's view of the fleet; it mounts /healthz, /readyz and /admin/*
 * in front (and, with WORKER_INDEX_HEADER on, stamps `x-worker-index` on every response).
 */
import { join } from "node:path";
import { Hono } from "hono";
// Deprecated in favour of @hono/bun (not on npm yet); works unchanged on the fleet.
import { websocket } from "hono/bun";
import type { FetchApp, FleetWorker } from "../workers/fleet.ts";
import { notFound, onError } from "./errors.ts";
import { configuredRateLimit } from "./rate-limit.ts";
import { withResponseHeaders } from "./response-headers.ts";
import { chat } from "./routes/chat.ts";
import { echo } from "./routes/echo.ts";
import { events } from "./routes/events.ts";
import { reports } from "./routes/reports.ts";
import { todos } from "./routes/todos.ts";
import { wsEcho } from "./routes/ws-echo.ts";
import { staticFiles } from "./static.ts";

/** Static files, resolved from this file so they are found whatever the working directory. */
export const PUBLIC_DIR = join(import.meta.dir, "public");

/** Builds the app for one worker. */
export function createApp(worker: FleetWorker): Hono {
  const app = new Hono();
  app.get("/hello", (c) => c.text(`Hello from worker ${worker.index}\n`));
  app.get("/worker", (c) =>
    c.json({ index: worker.index, pid: worker.pid, context: worker.context }),
  );
  // RATE_LIMIT_PER_MINUTE per client for the whole fleet, across hosts with REDIS_URL.
  const limited = configuredRateLimit(worker);
  if (limited) app.use("/api/*", limited);
  app.route("/api", echo);
  app.route("/api", todos());
  app.route("/api", reports);
  app.route("/", events(worker));
  app.route("/", wsEcho(worker));
  app.route("/chat", chat(worker));
  // public/ answers what no route does (`/` serves public/index.html), then the 404 JSON. A
  // not-found handler rather than `app.use("/*")`: a middleware on every path would take each
  // route off Hono's one-handler fast path. A path that cannot name a file is a 404.
  const onRejected = (path: string) => worker.log.debug?.(`static: not a file name: ${path}`);
  const files = staticFiles({ root: PUBLIC_DIR, onRejected });
  app.notFound(async (c) => (await files(c, async () => {})) ?? notFound(c));
  app.onError(onError);
  // Security headers and X-Request-Id on every response (app/response-headers.ts).
  return withResponseHeaders(app, worker);
}

/**
 * What each worker serves: Bun's `{ fetch, websocket }` shape, so the WebSocket routes work
 * (a plain Hono app, or a factory returning one, is fine for an app without WebSockets).
 */
export default function serveApp(worker: FleetWorker): FetchApp {
  return { fetch: createApp(worker).fetch, websocket };
}
