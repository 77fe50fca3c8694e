import type { ServerWebSocket, WebSocketHandler } from "bun";
import type { AppWebSocket } from "../../fleet.ts";

/** The fleet's WebSocket limits (settings WS_*), applied where the app's handler sets none. */
export interface WebSocketLimits {
  /** Bun's `maxPayloadLength`: a bigger incoming frame closes the socket with 1009. */
  maxPayloadLength: number;
  /** Bun's `idleTimeout`, in seconds (0 = none). */
  idleTimeout: number;
  /** Bun's `backpressureLimit`: past this many buffered bytes a send is dropped. */
  backpressureLimit: number;
}

/** Close code and reason sent to every open WebSocket when its worker drains. */
export const GOING_AWAY = { code: 1001, reason: "server going away" } as const;

type Socket = ServerWebSocket<never>;

/**
 * The WebSockets open on one worker, so a drain can close them: `server.stop()` does not close
 * WebSockets, and waits for them. Tracking costs one Set insert/delete per socket, in open and
 * close; HTTP requests and messages see none of it (the app's `message` is passed through as is).
 */
export class OpenSockets {
  readonly #open = new Set<Socket>();

  /** How many are open now. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * The app's handler with open/close tracked and the fleet's limits as defaults: a limit the
   * app's own handler sets wins (it knows its messages better than a fleet-wide setting).
   */
  handler(app: AppWebSocket, limits: WebSocketLimits): WebSocketHandler<never> {
    const open = this.#open;
    const { open: appOpen, close: appClose } = app;
    return {
      ...limits,
      ...app,
      open(ws) {
        open.add(ws);
        return appOpen?.call(this, ws);
      },
      close(ws, code, reason) {
        open.delete(ws);
        return appClose?.call(this, ws, code, reason);
      },
    };
  }

  /** Closes every open socket with 1001 (going away); each one's `close` handler still runs. */
  closeAll(): void {
    for (const ws of [...this.#open]) ws.close(GOING_AWAY.code, GOING_AWAY.reason);
  }
}
