import type { Server } from "bun";

/**
 * Requests without a Host header. An HTTP/1.0 request may omit Host (HAProxy's default
 * `option httpchk GET /readyz` does), and an HTTP/1.1 request may send an empty one (RFC 9112
 * §3.2); Bun then hands `fetch` the request target alone as `request.url` (`/readyz`), and Hono's
 * router, which reads the path out of an absolute URL, matches nothing: 404 on every route.
 * (An HTTP/1.1 request with no Host at all never gets here: Bun answers 400, as RFC 9112 asks.)
 *
 * Such a request gets the URL RFC 9112 §3.3 reconstructs for it: the server's own scheme and
 * listening address as the authority, and its target. The URL is set on the request itself (an
 * own property shadowing the getter), not on a copy, so `server.upgrade(request)` still works.
 * A request that carries a Host pays one character comparison and nothing else.
 */
export function withTargetUrl(request: Request, server: Pick<Server<never>, "url">): void {
  if (request.url.charCodeAt(0) !== 47 /* "/" */) return;
  Object.defineProperty(request, "url", { value: server.url.origin + request.url });
}
