import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { StopReason } from "../app/fleet.ts";

/** Paths the fleet answers itself, ahead of the app (Bun matches them natively). */
export const FLEET_PATHS = ["/healthz", "/readyz", "/admin/*"] as const;

/** What the fleet routes need from their worker. */
export interface FleetRouteOptions {
  adminToken: string;
  isDraining: () => boolean;
  requestStop: (reason: StopReason) => void;
}

const unauthorized = { error: "Unauthorized" };

/** `/healthz`, `/readyz` and `/admin/stop`, as a small Hono app of their own. */
export function fleetRoutes({ adminToken, isDraining, requestStop }: FleetRouteOptions): Hono {
  const routes = new Hono();
  routes.get("/healthz", (c) => c.json({ status: "ok" }));
  routes.get("/readyz", (c) =>
    isDraining() ? c.json({ status: "draining" }, 503) : c.json({ status: "ready" }),
  );
  routes.post(
    "/admin/stop",
    bearerAuth({
      token: adminToken,
      noAuthenticationHeaderMessage: unauthorized,
      invalidTokenMessage: unauthorized,
      invalidAuthenticationHeaderMessage: {
        error: "Bad Request: expected Authorization: Bearer <token>",
      },
    }),
    (c) => {
      requestStop("admin-stop");
      return c.json({ status: "stopping" }, 202);
    },
  );
  routes.notFound((c) => c.json({ error: "Not Found" }, 404));
  return routes;
}
