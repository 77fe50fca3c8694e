import type { Server } from "bun";
import type { Log } from "../../log.ts";
import type { OpenSockets } from "./websockets.ts";

/**
 * Stops one worker's server by `deadline` (epoch ms); resolves true when it had to cut
 * connections (deadline passed). A retiring worker (siblings serve) keeps listening for
 * `windowMs` first, answering `Connection: close` and keeping its WebSockets open; then the
 * listener closes, every WebSocket gets 1001 (Bun's `server.stop()` leaves them open and waits
 * for them), and it resolves as soon as in-flight requests and streams are done.
 */
export async function stopServer(
  server: Server<never>,
  sockets: OpenSockets,
  deadline: number,
  windowMs: number,
  log: Log,
): Promise<boolean> {
  const left = () => Math.max(0, deadline - Date.now());
  if (windowMs > 0) await Bun.sleep(Math.min(windowMs, left()));
  const stopped = server.stop().then(() => true);
  if (sockets.size > 0) {
    log.info(`closing ${sockets.size} WebSocket(s) with 1001`);
    sockets.closeAll();
  }
  const timeout = Bun.sleep(left()).then(() => false);
  if (await Promise.race([stopped, timeout])) return false;
  log.warn(
    `deadline passed with ${server.pendingRequests} request(s) and ${sockets.size} WebSocket(s) open; closing them`,
  );
  await server.stop(true);
  return true;
}
