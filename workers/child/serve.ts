import type { Server } from "bun";
import type { FetchApp } from "../../app/fleet.ts";
import { FLEET_PATHS } from "./fleet-routes.ts";

/** Header naming the worker that answered; on every response. */
export const WORKER_INDEX_HEADER = "x-worker-index";

/** What one worker serves, and how to know it is draining. */
export interface ServeOptions {
  index: number;
  port: number;
  host: string;
  app: FetchApp;
  fleet: FetchApp;
  isDraining: () => boolean;
  /** Called once per app request (for MAX_REQUESTS); absent, nothing is counted. */
  onAppRequest?: () => void;
}

type Handler = (request: Request, server: Server<undefined>) => Response | Promise<Response>;

/**
 * `Bun.serve` with reusePort: fleet paths go to the fleet routes, everything else to the app.
 * The only per-request work added to the app is stamping two headers on its response.
 */
export function serve(options: ServeOptions): Server<undefined> {
  const { index, port, host, app, fleet, isDraining, onAppRequest } = options;
  const workerIndex = String(index);
  const stamp = (response: Response): Response => {
    let res = response;
    try {
      res.headers.set(WORKER_INDEX_HEADER, workerIndex);
    } catch {
      res = new Response(res.body, res); // immutable headers (e.g. a proxied fetch response)
      res.headers.set(WORKER_INDEX_HEADER, workerIndex);
    }
    // While draining, ask keep-alive clients to reconnect (to a sibling, or to a new fleet).
    if (isDraining()) res.headers.set("connection", "close");
    return res;
  };
  const stamped = (target: FetchApp): Handler => {
    return (request, server) => {
      const res = target.fetch(request, server);
      return res instanceof Promise ? res.then(stamp) : stamp(res);
    };
  };
  const fleetHandler = stamped(fleet);
  const appHandler = stamped(app);
  const counted: Handler | undefined = onAppRequest
    ? (request, server) => {
        onAppRequest();
        return appHandler(request, server);
      }
    : undefined;
  return Bun.serve({
    port,
    hostname: host,
    reusePort: true,
    development: false,
    routes: Object.fromEntries(FLEET_PATHS.map((path) => [path, fleetHandler])),
    fetch: counted ?? appHandler,
    error: (error) => {
      console.error(error);
      return stamp(Response.json({ error: "Internal Server Error" }, { status: 500 }));
    },
  });
}
