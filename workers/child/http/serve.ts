import type { Server } from "bun";
import type { FetchApp } from "../../fleet.ts";
import type { ChildInit } from "../../worker-init.ts";
import { bunBodyBackstop, limitBody } from "./body-limit.ts";
import { FLEET_PATHS } from "./fleet-routes.ts";
import { withTargetUrl } from "./host.ts";
import { LIVE_RELOAD_PATH, type LiveReload, withLiveReloadClient } from "./live-reload.ts";
import { copyOf } from "./peer.ts";
import { type AccessLog, RequestMeter } from "./request-meter.ts";
import type { OpenSockets } from "./websockets.ts";

/** Header naming the worker that answered; only with WORKER_INDEX_HEADER on. */
export const WORKER_INDEX_HEADER = "x-worker-index";

/** The settings the request path takes as the primary handed them over (no copying). */
export type ServeSettings = Pick<
  ChildInit,
  | "index"
  | "port"
  | "host"
  | "tls"
  | "idleTimeoutS"
  | "maxBodyBytes"
  | "workerIndexHeader"
  | "wsMaxPayloadBytes"
  | "wsIdleTimeoutS"
  | "wsBackpressureLimitBytes"
  | "metrics"
  | "accessLog"
  | "maxRequests"
>;

/** What the worker runtime adds to the app and the settings. */
export interface ServeParts {
  /** The fleet's own routes (health, admin, metrics), matched natively ahead of the app. */
  fleet: FetchApp;
  /** Read on every response: a draining worker answers `Connection: close`. */
  isDraining: () => boolean;
  /** Where the app's WebSockets (its `websocket` export) are tracked. */
  sockets: OpenSockets;
  /** This worker's access-log name and fields (used with ACCESS_LOG). */
  access: AccessLog;
  /** MAX_REQUESTS was reached (called once). */
  onLimit: () => void;
  /** `bun run dev` only: serve /__livereload and inject its client into HTML responses. */
  liveReload: LiveReload | null;
}

/** The listening server, and the meter counting its app requests (null with nothing to count). */
export interface Serving {
  server: Server<never>;
  meter: RequestMeter | null;
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
 * `app` with its `fetch` replaced by `fetch` and its `websocket` handlers kept: the pipeline's
 * stages wrap only `fetch`, and this is the one place the app's handlers are carried over.
 */
export function withFetch(app: FetchApp, fetch: FetchApp["fetch"]): FetchApp {
  return app.websocket ? { fetch, websocket: app.websocket } : { fetch };
}

/**
 * The app's side of the request path, inside out: the live-reload injection (dev mode only) wraps
 * the app, the request meter wraps that. The meter exists when anything counts requests (METRICS,
 * ACCESS_LOG, MAX_REQUESTS): one count serves metrics, the access log and recycling. A stage that
 * is off is not in the chain, and with none on the app is served as is. With a meter, `stamp` is
 * applied by the meter after it counts (`stamped` is then true), so an async response takes one
 * continuation for both; otherwise the caller stamps.
 */
export function pipeline(
  app: FetchApp,
  settings: Pick<ServeSettings, "metrics" | "accessLog" | "maxRequests">,
  parts: Pick<ServeParts, "access" | "onLimit" | "liveReload">,
  stamp?: (response: Served) => Served,
): { app: FetchApp; meter: RequestMeter | null; stamped: boolean } {
  const { metrics, accessLog, maxRequests } = settings;
  const meter =
    metrics || accessLog || maxRequests > 0
      ? new RequestMeter({
          metered: metrics,
          access: accessLog ? parts.access : null,
          limit: maxRequests,
          onLimit: parts.onLimit,
        })
      : null;
  let fetch: FetchApp["fetch"] | null = null;
  if (parts.liveReload) fetch = withLiveReloadClient(app);
  if (meter) fetch = meter.wrap(fetch ? { fetch } : app, stamp);
  return { app: fetch ? withFetch(app, fetch) : app, meter, stamped: meter !== null && !!stamp };
}

/**
 * `Bun.serve` with reusePort, and the request path built once, in order: body limit -> request
 * meter -> live-reload injection (dev only) -> the app -> stamp (applied by the meter when there
 * is one). A stage that is off is not in the chain at all. Fleet paths go to the fleet routes
 * (matched natively by Bun, never metered). Per response the stamp only checks whether this
 * worker drains (then `Connection: close`, also on responses that were in flight when the drain
 * began); it sets no header otherwise, since one `headers.set` costs ~4% of hello throughput in
 * Bun 1.4.5.
 */
export function serve(app: FetchApp, settings: ServeSettings, parts: ServeParts): Serving {
  const { isDraining, liveReload } = parts;
  const { workerIndexHeader, maxBodyBytes, tls } = settings;
  const workerIndex = String(settings.index);
  const stamp = (response: Served): Served => {
    if (response === undefined) return response; // upgraded to a WebSocket: nothing to send
    let res = response;
    if (workerIndexHeader) res = withHeader(res, WORKER_INDEX_HEADER, workerIndex);
    // While draining, ask keep-alive clients to reconnect (to a sibling, or to a new fleet).
    if (isDraining()) res = withHeader(res, "connection", "close");
    return res;
  };
  const { app: served, meter, stamped } = pipeline(app, settings, parts, stamp);
  const limited = (target: FetchApp, stampedByTarget: boolean): Handler => {
    const run: Handler = stampedByTarget
      ? target.fetch
      : (request, server) => {
          const res = target.fetch(request, server);
          return res instanceof Promise ? res.then(stamp) : stamp(res);
        };
    return (request, server) => {
      withTargetUrl(request, server); // a request without Host: absolute URL, as Hono needs
      const checked = limitBody(request, maxBodyBytes);
      if (checked === request) return run(request, server);
      if (checked instanceof Response) return stamp(checked);
      return Promise.resolve(checked).then((r) =>
        r instanceof Response ? stamp(r) : run(copyOf(r, request), server),
      );
    };
  };
  const fleetHandler = limited(parts.fleet, false);
  const routes: [string, Handler][] = FLEET_PATHS.map((path) => [path, fleetHandler]);
  if (liveReload) {
    routes.push([
      LIVE_RELOAD_PATH,
      (request, server) => stamp(liveReload.connect(request, server)),
    ]);
  }
  // Only an app that exports `websocket` gets one: Bun then answers upgrades on its behalf.
  const websocket =
    served.websocket &&
    parts.sockets.handler(served.websocket, {
      maxPayloadLength: settings.wsMaxPayloadBytes,
      idleTimeout: settings.wsIdleTimeoutS,
      backpressureLimit: settings.wsBackpressureLimitBytes,
    });
  const server = Bun.serve<never>({
    ...(websocket && { websocket }),
    port: settings.port,
    hostname: settings.host,
    reusePort: true,
    development: false,
    idleTimeout: settings.idleTimeoutS,
    maxRequestBodySize: bunBodyBackstop(maxBodyBytes),
    ...(tls && { tls: { cert: Bun.file(tls.certFile), key: Bun.file(tls.keyFile) } }),
    routes: Object.fromEntries(routes),
    fetch: limited(served, stamped),
    error: (error) => {
      console.error(error);
      return stamp(Response.json({ error: "Internal Server Error" }, { status: 500 }));
    },
  });
  return { server, meter };
}
