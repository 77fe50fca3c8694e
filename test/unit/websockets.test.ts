import { describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import {
  GOING_AWAY,
  OpenSockets,
  type WebSocketLimits,
} from "../../workers/child/http/websockets.ts";

const LIMITS: WebSocketLimits = {
  maxPayloadLength: 1024,
  idleTimeout: 30,
  backpressureLimit: 4096,
};

/** A stand-in for Bun's socket that records how it was closed. */
function fakeSocket() {
  const closes: [number | undefined, string | undefined][] = [];
  const ws = { close: (code?: number, reason?: string) => closes.push([code, reason]) };
  return { ws: ws as unknown as ServerWebSocket<never>, closes };
}

describe("OpenSockets", () => {
  test("the fleet's limits apply where the app's handler sets none; the app's own win", () => {
    const sockets = new OpenSockets();
    const message = () => {};
    const plain = sockets.handler({ message }, LIMITS);
    expect(plain).toMatchObject(LIMITS);
    expect(plain.message).toBe(message); // passed through: no work per message
    const own = sockets.handler({ message, maxPayloadLength: 64, idleTimeout: 0 }, LIMITS);
    expect(own).toMatchObject({ maxPayloadLength: 64, idleTimeout: 0, backpressureLimit: 4096 });
  });

  test("tracks sockets from open to close and still calls the app's handlers", () => {
    const sockets = new OpenSockets();
    const calls: string[] = [];
    const handler = sockets.handler(
      {
        open: () => void calls.push("open"),
        close: (_ws, code) => void calls.push(`close ${code}`),
      },
      LIMITS,
    );
    const a = fakeSocket();
    const b = fakeSocket();
    handler.open?.(a.ws);
    handler.open?.(b.ws);
    expect(sockets.size).toBe(2);
    handler.close?.(a.ws, 1000, "");
    expect(sockets.size).toBe(1);
    expect(calls).toEqual(["open", "open", "close 1000"]);
  });

  test("closeAll sends 1001 to every open socket", () => {
    const sockets = new OpenSockets();
    const handler = sockets.handler({}, LIMITS);
    const all = [fakeSocket(), fakeSocket(), fakeSocket()];
    for (const s of all) handler.open?.(s.ws);
    sockets.closeAll();
    for (const s of all) expect(s.closes).toEqual([[GOING_AWAY.code, GOING_AWAY.reason]]);
  });
});
