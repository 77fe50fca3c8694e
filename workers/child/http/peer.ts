import type { Server } from "bun";

/**
 * The connection's peer address of a request, also for a copy the request path made of it (a
 * chunked body read ahead by the body limit): Bun's `server.requestIP` knows only the request it
 * handed over, and answers null for a copy, which would make every such client one "unknown".
 */
const originals = new WeakMap<Request, Request>();

/** `copy` stands for `original` (same connection); returns `copy`. */
export function copyOf(copy: Request, original: Request): Request {
  if (copy !== original) originals.set(copy, original);
  return copy;
}

/** The peer's address, or null for a request this server did not receive. */
export function peerAddress(server: Pick<Server<never>, "requestIP">, request: Request) {
  return server.requestIP(originals.get(request) ?? request)?.address ?? null;
}
