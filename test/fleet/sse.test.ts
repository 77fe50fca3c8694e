import { expect, test } from "bun:test";
import { join } from "node:path";
import {
  FIXTURES,
  fleetStatus,
  freshFetch,
  NO_EXTRAS,
  startReadyFleet,
  TOKEN,
  waitFor,
} from "../helpers/fleet.ts";
import { openStream } from "../helpers/sse.ts";

const served = (stream: { text(): string }) =>
  Number(/^event: hello\ndata: (\d+)\n\n/.exec(stream.text())?.[1]);

/** `fleet_sse_streams_open` per worker, from /metrics. */
async function openPerWorker(url: string): Promise<Record<string, number>> {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const text = await (await fetch(url, { headers: auth })).text();
  const rows = [...text.matchAll(/^fleet_sse_streams_open\{worker="(\d+)"\} (\d+)$/gm)];
  return Object.fromEntries(rows.map(([, w, n]) => [w as string, Number(n)]));
}

test("worker.sse streams on every worker carry what any worker says, beat, and are counted per worker in /admin/status and /metrics until they close", async () => {
  const fleet = await startReadyFleet({
    env: { ...NO_EXTRAS, APP_MODULE: join(FIXTURES, "sse-app.ts"), SSE_HEARTBEAT_MS: "50" },
  });
  const streams: Awaited<ReturnType<typeof openStream>>[] = [];
  try {
    await waitFor("a stream on each worker", async () => {
      streams.push(await openStream(fleet, "/feed"));
      return [0, 1].every((w) => streams.some((s) => served(s) === w));
    });
    const on = (w: number) => streams.filter((s) => served(s) === w).length;
    const status = await fleetStatus(fleet.url);
    expect(status.workers.map((p) => p.sseStreams)).toEqual([on(0), on(1)]);
    expect(await openPerWorker(fleet.url("/metrics"))).toEqual({ "0": on(0), "1": on(1) });

    expect((await freshFetch(fleet.url("/say?text=hello%20all"), { method: "POST" })).status).toBe(
      200,
    );
    for (const s of streams) {
      await waitFor("the message on every stream", () => s.text().includes("data: hello all\n\n"));
      await waitFor("a heartbeat on every stream", () => s.text().includes(": heartbeat\n\n"));
    }

    const gone = streams.shift();
    gone?.close();
    expect(await gone?.ended).toBe("cut");
    await waitFor("the closed stream to leave the count", async () => {
      const counts = (await fleetStatus(fleet.url)).workers.map((p) => p.sseStreams);
      return counts[0] === on(0) && counts[1] === on(1);
    });
  } finally {
    fleet.kill("SIGTERM");
  }
  expect(await fleet.exited).toBe(0);
  for (const s of streams) {
    expect(await s.ended).toBe("ended");
    expect(s.text()).toEndWith("event: bye\ndata: worker draining\n\n");
  }
});

test("a quiet worker.sse stream outlives IDLE_TIMEOUT_S: it beats twice within it, whatever SSE_HEARTBEAT_MS says", async () => {
  // Bun cuts a streaming response that writes nothing for IDLE_TIMEOUT_S (5 → 8 s: 4 s steps).
  const fleet = await startReadyFleet({
    env: { ...NO_EXTRAS, APP_MODULE: join(FIXTURES, "sse-app.ts"), IDLE_TIMEOUT_S: "5" },
  });
  try {
    const stream = await openStream(fleet, "/feed?topic=quiet");
    let ended = false;
    void stream.ended.then(() => {
      ended = true;
    });
    const beats = () => stream.text().split(": heartbeat\n\n").length - 1;
    await waitFor(
      "4 heartbeats (10 s, past the 8 s cut)",
      () => ended || beats() >= 4,
      30_000,
      100,
    );
    expect(ended).toBe(false);
    expect((await fleetStatus(fleet.url)).workers.map((p) => p.sseStreams).sort()).toEqual([0, 1]);
  } finally {
    fleet.kill("SIGTERM");
  }
  expect(await fleet.exited).toBe(0);
});
