import { Hono } from "hono";
// hono/bun is marked deprecated in favour of @hono/bun, which is not on npm yet; it works as is.
import { upgradeWebSocket } from "hono/bun";
import type { FleetWorker } from "../../workers/fleet.ts";

/**
 * `GET /ws/echo`: a WebSocket that greets with `hello from worker <i>` and sends every message
 * back. Needs `websocket` from `hono/bun` in the app's default export (see app/index.ts).
 */
export function wsEcho(worker: FleetWorker): Hono {
  return new Hono().get(
    "/ws/echo",
    // upgradeWebSocket throws (500) on a plain request; say what is wrong instead.
    async (c, next) =>
      c.req.header("upgrade")?.toLowerCase() === "websocket"
        ? next()
        : c.json({ error: "Upgrade Required: connect with a WebSocket client" }, 426),
    upgradeWebSocket(() => ({
      onOpen(_event, ws) {
        ws.send(`hello from worker ${worker.index}`);
      },
      onMessage({ data }, ws) {
        if (typeof data === "string" || data instanceof ArrayBuffer) ws.send(data);
      },
    })),
  );
}
