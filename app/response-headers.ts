/**
 * The headers on every response of the app: the security headers hono/secure-headers sends by
 * default (same names, same values; X-Powered-By removed) and an `X-Request-Id`, stamped once
 * around the app's fetch by `withResponseHeaders` (createApp's last line).
 *
 * Why not `app.use(requestId(), secureHeaders())`: a middleware on every path takes every route
 * off Hono's one-handler fast path (each request then goes through `compose`, one async dispatch
 * per layer), and hono/request-id reads a request header, which makes Bun build the request's
 * Headers. On the read route (`bun run bench:db -- --only paired`) that was the largest cost the
 * app added to a bare `Bun.serve` + `bun:sqlite` sending the same headers.
 *
 * The request id is a fresh UUID, or the `X-Request-Id` a trusted proxy sent (TRUSTED_PROXIES,
 * like X-Forwarded-For: any other client could choose the id your logs and error bodies show);
 * at most 255 of `A-Z a-z 0-9 _ - =`, as hono/request-id accepts. A handler that needs it (to
 * log it, or to name it in an error body) calls `requestId(c)`: the response then carries that
 * same id. Routes that never ask pay for it only when the response is stamped.
 */
import type { Context, Hono } from "hono";
import type { FleetWorker } from "../workers/fleet.ts";

/** hono/secure-headers' defaults, in its order. */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

const NAMES = SECURITY_HEADERS.map(([name]) => name);
const VALUES = SECURITY_HEADERS.map(([, value]) => value);

export const REQUEST_ID_HEADER = "X-Request-Id";

/** What hono/request-id accepts from a client: 1 to 255 of `\w`, `-` and `=`. */
const ACCEPTED_ID = /^[\w\-=]{1,255}$/;

/** The id chosen for a request: its trusted proxy's, or the one `requestId(c)` gave a handler. */
const chosenIds = new WeakMap<Request, string>();

/**
 * This request's id: the one already chosen for it, else the trusted proxy's, else a new UUID.
 * Sets it on the response (`X-Request-Id`, also on a Response the handler builds itself) and in
 * `c.var.requestId`.
 */
export function requestId(c: Context): string {
  let id = c.get("requestId") as string | undefined;
  if (id === undefined) {
    id = chosenIds.get(c.req.raw) ?? crypto.randomUUID();
    chosenIds.set(c.req.raw, id);
    c.set("requestId", id);
    c.header(REQUEST_ID_HEADER, id);
  }
  return id;
}

/** Sets the headers on `response` (a copy when its headers are immutable, e.g. a proxied fetch). */
function stamp(response: Response | undefined, request: Request): Response | undefined {
  if (response === undefined) return response; // upgraded to a WebSocket: nothing is sent
  let res = response;
  let headers = res.headers;
  try {
    headers.delete("X-Powered-By");
  } catch {
    res = new Response(res.body, res);
    headers = res.headers;
    headers.delete("X-Powered-By");
  }
  for (let i = 0; i < NAMES.length; i++) headers.set(NAMES[i] as string, VALUES[i] as string);
  if (!headers.has(REQUEST_ID_HEADER)) {
    headers.set(REQUEST_ID_HEADER, chosenIds.get(request) ?? crypto.randomUUID());
  }
  return res;
}

/**
 * `app` with its fetch (and so `app.request()` in tests) stamping the headers on every response,
 * the app's 404s and errors included. Returns `app`.
 */
export function withResponseHeaders<App extends Hono>(
  app: App,
  worker: Pick<FleetWorker, "fromTrustedProxy">,
): App {
  const fetch = app.fetch;
  // Hono's (request, env, executionCtx), passed on as named arguments: no array per request.
  app.fetch = ((request: Request, env?: unknown, executionCtx?: unknown) => {
    if (worker.fromTrustedProxy(request)) {
      const given = request.headers.get(REQUEST_ID_HEADER);
      if (given !== null && ACCEPTED_ID.test(given)) chosenIds.set(request, given);
    }
    const res = fetch(request, env, executionCtx as undefined) as
      | Response
      | Promise<Response>
      | undefined;
    return res instanceof Promise ? res.then((r) => stamp(r, request)) : stamp(res, request);
  }) as App["fetch"];
  return app;
}
