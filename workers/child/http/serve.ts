import type { Server } from "bun";
import type { FetchApp } from "../../fleet.ts";
import { bunBodyBackstop, limitBody } from "./body-limit.ts";
import { FLEET_PATHS } from "./fleet-routes.ts";
import { withTargetUrl } from "./host.ts";
import { LIVERELOAD_PATH, type LiveReload, withLiveReloadClient } from "./live-reload.ts";
import type { OpenSockets, WebSocketLimits } from "./websockets.ts";

/** Header naming the worker that answered; only with WORKER_INDEX_HEADER on. */
export const WORKER_INDEX_HEADER = "x-worker-index";

/** What one worker serves, and how to know it is draining. */
export interface ServeOptions {
  index: number;
  port: number;
  host: string;
  app: FetchApp;
  fleet: FetchApp;
  isDraining: () => boolean;
  /** Stamp `x-worker-index` on every response. */
  workerIndexHeader: boolean;
  /** Where the app's WebSockets (its `websocket` export) are tracked, and their limits. */
  sockets: OpenSockets;
  wsLimits: WebSocketLimits;
  /** PEM files to serve HTTPS with; null for plain HTTP. */
  tls: { certFile: string; keyFile: string } | null;
  idleTimeoutS: number;
  /** MAX_BODY_BYTES: a larger body (declared or chunked; not GET/HEAD) gets 413 JSON. */
  maxBodyBytes: number;
  /** `bun run dev` only: serve /__livereload and inject its client into HTML responses. */
  liveReload?: LiveReload;
}

type Served = Response | undefined;
type Handler = (request: Request, server: Server<never>) => Served | Promise<Served>;

/** Sets a header, copying the response when its headers are immutable (e.g. a proxied fetch). */
function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

/**
 * `Bun.serve` with reusePort: fleet paths go to the fleet routes (matched natively by Bun),
 * everything else to the app. Per response the fleet only checks whether this worker drains
 * (then `Connection: close`, also on responses that were in flight when the drain began); it
 * sets no header otherwise, since one `headers.set` costs ~4% of hello throughput in Bun 1.4.5.
 */
export function serve(options: ServeOptions): Server<never> {
  const { index, port, host, fleet, isDraining, workerIndexHeader } = options;
  const { tls, maxBodyBytes, liveReload } = options;
  // Outside dev mode the app is served as is: the injection costs nothing there.
  const app = liveReload ? withLiveReloadClient(options.app) : options.app;
  const workerIndex = String(index);
  const stamp = (response: Served): Served => {
    if (response === undefined) return response; // upgraded to a WebSocket: nothing to send
    let res = response;
    if (workerIndexHeader) res = withHeader(res, WORKER_INDEX_HEADER, workerIndex);
    // While draining, ask keep-alive clients to reconnect (to a sibling, or to a new fleet).
    if (isDraining()) res = withHeader(res, "connection", "close");
    return res;
  };
  const stamped = (target: FetchApp): Handler => {
    const run: Handler = (request, server) => {
      const res = target.fetch(request, server);
      return res instanceof Promise ? res.then(stamp) : stamp(res);
    };
    return (request, server) => {
      withTargetUrl(request, server); // a request without Host: absolute URL, as Hono needs
      const limited = limitBody(request, maxBodyBytes);
      if (limited === request) return run(request, server);
      if (limited instanceof Response) return stamp(limited);
      return Promise.resolve(limited).then((r) =>
        r instanceof Response ? stamp(r) : run(r, server),
      );
    };
  };
  const fleetHandler = stamped(fleet);
  const appHandler = stamped(app);
  const routes: [string, Handler][] = FLEET_PATHS.map((path) => [path, fleetHandler]);
  if (liveReload) {
    routes.push([LIVERELOAD_PATH, (request, server) => stamp(liveReload.connect(request, server))]);
  }
  // Only an app that exports `websocket` gets one: Bun then answers upgrades on its behalf.
  const websocket = app.websocket && options.sockets.handler(app.websocket, options.wsLimits);
  return Bun.serve<never>({
    ...(websocket && { websocket }),
    port,
    hostname: host,
    reusePort: true,
    development: false,
    idleTimeout: options.idleTimeoutS,
    maxRequestBodySize: bunBodyBackstop(maxBodyBytes),
    ...(tls && { tls: { cert: Bun.file(tls.certFile), key: Bun.file(tls.keyFile) } }),
    routes: Object.fromEntries(routes),
    fetch: appHandler,
    error: (error) => {
      console.error(error);
      return stamp(Response.json({ error: "Internal Server Error" }, { status: 500 }));
    },
  });
}
