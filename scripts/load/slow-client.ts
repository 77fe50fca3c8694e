import { connect, type Socket } from "node:net";

/**
 * A WebSocket client that sends the upgrade to `path`, reads the 101, and never reads again: the
 * slow consumer a flood is measured against (`scripts/load/ws-flood.ts`, the WebSocket limits
 * test).
 */
export async function slowClient(port: number, path = "/flood"): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await new Promise((done) => socket.once("connect", done));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  socket.once("data", () => socket.pause());
  return socket;
}
