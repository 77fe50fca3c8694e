import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Context, Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Collected } from "../../protocol.ts";
import type { CollectAnswer } from "../child-runtime.ts";

/** What the observability routes need from their worker. */
export interface ObserveOptions {
  adminToken: string;
  /** Serve /metrics without the token. */
  metricsPublic: boolean;
  /** Asks the primary to collect `what` from the fleet (null: no answer in time). */
  collect: (what: Collected) => Promise<CollectAnswer>;
  /** Asks the primary for its history after `since` (epoch ms). */
  history: (since: number) => Promise<CollectAnswer>;
}

/** Prometheus text exposition 0.0.4 (what prom-client's registry answers). */
const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const DASHBOARD = join(import.meta.dir, "dashboard.html");
let page: string | null = null;

/** The dashboard page: static, no fleet data in it, read once per worker on first use. */
export function dashboardPage(c: Context): Response {
  page ??= readFileSync(DASHBOARD, "utf8");
  return c.html(page, 200, {
    "cache-control": "no-store",
    "content-security-policy":
      "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'",
    "x-frame-options": "DENY",
  });
}

async function collected(c: Context, options: ObserveOptions, what: Collected | "history") {
  const since = Number(c.req.query("since") ?? "0");
  if (what === "history" && !(Number.isSafeInteger(since) && since >= 0)) {
    return c.json({ error: "Bad Request: since must be epoch milliseconds (a whole number)" }, 400);
  }
  const answer = await (what === "history" ? options.history(since) : options.collect(what));
  if (!answer) {
    return c.json({ error: "Gateway Timeout: the primary did not answer in time" }, 504);
  }
  if (!answer.ok) return c.json({ error: answer.body }, 503);
  if (what !== "metrics") return c.body(answer.body, 200, { "content-type": "application/json" });
  return c.body(answer.body, 200, { "content-type": METRICS_TYPE });
}

/**
 * `GET /admin/status` and `GET /admin/history` (behind the /admin/* token check registered before it) and
 * `GET /metrics` (token unless METRICS_PUBLIC): the worker that receives the request asks the
 * primary, which collects from every process with a deadline.
 */
export function observeRoutes(routes: Hono, options: ObserveOptions): void {
  routes.get("/admin/status", (c) => collected(c, options, "status"));
  routes.get("/admin/history", (c) => collected(c, options, "history"));
  const unauthorized = { error: "Unauthorized" };
  const auth = bearerAuth({
    token: options.adminToken,
    noAuthenticationHeaderMessage: unauthorized,
    invalidTokenMessage: unauthorized,
    invalidAuthenticationHeaderMessage: {
      error: "Bad Request: expected Authorization: Bearer <token>",
    },
  });
  if (!options.metricsPublic) routes.use("/metrics", auth);
  routes.get("/metrics", (c) => collected(c, options, "metrics"));
}
