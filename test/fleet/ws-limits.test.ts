import { describe, expect, test } from "bun:test";
import { type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { FIXTURES, NO_EXTRAS, startReadyFleet, waitFor } from "../helpers/fleet.ts";

const FLOOD_APP = { ...NO_EXTRAS, APP_MODULE: join(FIXTURES, "flood-app.ts"), FLOOD_MS: "500" };

/** A WebSocket client that completes the handshake and then never reads again. */
async function slowClient(port: number): Promise<Socket> {
  const socket = tcpConnect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(
    "GET /flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  socket.once("data", () => socket.pause());
  return socket;
}

describe("WebSocket limits", () => {
  test("a flood to clients that never read stays bounded by WS_BACKPRESSURE_LIMIT_BYTES: sends are dropped", async () => {
    const fleet = await startReadyFleet({ env: { ...FLOOD_APP, WORKERS: "1" } });
    const rss = async () => Number((await (await fetch(fleet.url("/"))).text()).split(" ")[1]);
    const before = await rss();
    const clients = await Promise.all(Array.from({ length: 4 }, () => slowClient(fleet.port)));
    try {
      await waitFor(
        "every flood to finish",
        () => fleet.stderr().match(/flood done/g)?.length === 4,
      );
      const done = [...fleet.stderr().matchAll(/dropped (\d+), rss (\d+)/g)];
      for (const [, dropped] of done) expect(Number(dropped)).toBeGreaterThan(0);
      // ~64 MB offered per client; the 1 MiB default keeps the worker within a few MB of that
      // (Bun's own 16 MiB default grows it by ~20 MB per client, measured).
      const peak = Math.max(...done.map(([, , bytes]) => Number(bytes)));
      expect(peak - before).toBeLessThan(32 * 2 ** 20);
    } finally {
      for (const client of clients) client.destroy();
    }
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });
});
