import { describe, expect, test } from "bun:test";
import { NO_EXTRAS, startReadyFleet, timed, waitFor, within } from "../helpers/fleet.ts";
import { openStream } from "../helpers/sse.ts";
import { type Client, connect, connectMany, wsUrl } from "../helpers/websockets.ts";

/** Resolves with the next message `client` receives. */
const next = (client: Client, after: number) =>
  waitFor(`message ${after + 1} on a WebSocket`, () => client.messages[after], 3000, 5);

describe("WebSockets on the fleet", () => {
  test("echoes through a 2-worker fleet over 24 fresh connections that reach both workers", async () => {
    const fleet = await startReadyFleet({ env: NO_EXTRAS });
    const seen = new Set<number>();
    for (let i = 0; i < 24; i++) {
      const client = await connect(wsUrl(fleet.port, "/ws/echo"));
      seen.add(client.worker);
      client.ws.send(`ping ${i}`);
      expect(await next(client, 0)).toBe(`ping ${i}`);
      client.ws.close(1000);
      expect((await client.closed).code).toBe(1000);
    }
    expect([...seen].sort()).toEqual([0, 1]);
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test("SIGTERM with 40 WebSockets and SSE streams open: every client sees 1001, exit 0 in under a second", async () => {
    const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, SHUTDOWN_TIMEOUT_MS: "10000" } });
    const clients = await connectMany(wsUrl(fleet.port, "/ws/echo"), 40);
    expect(new Set(clients.map((c) => c.worker)).size).toBe(2);
    const streams = await Promise.all([1, 2, 3, 4].map(() => openStream(fleet, "/events")));
    fleet.kill("SIGTERM");
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(within(1000, 10_000)); // the deadline is 10 s: nothing waited for it
    for (const stream of streams) expect(await stream.ended).toBe("ended");
    const closes = await Promise.all(clients.map((c) => c.closed));
    expect(closes.map((c) => c.code)).toEqual(Array(40).fill(1001));
    const closedByWorkers = [...fleet.stderr().matchAll(/closing (\d+) WebSocket\(s\) with 1001/g)];
    expect(closedByWorkers.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(40);
    await waitFor("every fleet process to be gone", () => fleet.pids().length === 0);
  });

  test("SIGHUP: the retiring workers' clients get 1001 after the drain window, reconnect, and no request fails", async () => {
    const windowMs = 300;
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, DRAIN_WINDOW_MS: String(windowMs) },
    });
    const clients = await connectMany(wsUrl(fleet.port, "/ws/echo"), 12);
    expect(new Set(clients.map((c) => c.worker)).size).toBe(2);
    // Each client reconnects on close, as a real one would, and checks the new socket echoes.
    const reconnected = clients.map(async (c) => {
      const close = await c.closed;
      const again = await connect(wsUrl(fleet.port, "/ws/echo"));
      again.ws.send("back");
      const echoed = await next(again, 0);
      again.ws.close();
      return { close, echoed };
    });
    let polling = true;
    const statuses: number[] = [];
    const poll = (async () => {
      while (polling) statuses.push((await fetch(fleet.url("/worker"))).status);
    })();
    const hup = Date.now();
    fleet.kill("SIGHUP");
    const results = await Promise.all(reconnected);
    polling = false;
    await poll;
    for (const { close, echoed } of results) {
      expect(close.code).toBe(1001);
      expect(close.at - hup).toBeGreaterThanOrEqual(windowMs);
      expect(echoed).toBe("back");
    }
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await waitFor("the reload to complete", () =>
      fleet.stderr().includes("reload (SIGHUP) complete"),
    );
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test("a frame over WS_MAX_PAYLOAD_BYTES closes the socket with 1009; smaller ones echo", async () => {
    const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, WS_MAX_PAYLOAD_BYTES: "1024" } });
    const client = await connect(wsUrl(fleet.port, "/ws/echo"));
    client.ws.send("a".repeat(1024));
    expect(await next(client, 0)).toHaveLength(1024);
    client.ws.send("b".repeat(1025));
    expect((await client.closed).code).toBe(1009);
    const fresh = await connect(wsUrl(fleet.port, "/ws/echo")); // the worker serves on
    fresh.ws.close();
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });
});
