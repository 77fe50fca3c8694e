import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, NO_EXTRAS, startReadyFleet, timed, waitFor, within } from "../helpers/fleet.ts";
import { openStream } from "../helpers/sse.ts";

describe("streams on drain", () => {
  test("SSE streams that end on worker.signal let a stop exit 0 at once", async () => {
    const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, SHUTDOWN_TIMEOUT_MS: "10000" } });
    const streams = await Promise.all(
      Array.from({ length: 6 }, () => openStream(fleet, "/events")),
    );
    fleet.kill("SIGTERM");
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(within(2000, 10_000)); // the deadline is 10 s
    for (const stream of streams) {
      expect(await stream.ended).toBe("ended");
      expect(stream.text()).toContain("event: bye\ndata: worker draining");
    }
    await waitFor("every fleet process to be gone", () => fleet.pids().length === 0);
  });

  test("an SSE stream that ignores worker.signal is cut at the deadline: exit 4", async () => {
    const fleet = await startReadyFleet({
      env: {
        ...NO_EXTRAS,
        APP_MODULE: join(FIXTURES, "stubborn-stream-app.ts"),
        SHUTDOWN_TIMEOUT_MS: "1000",
      },
    });
    const stream = await openStream(fleet, "/stubborn");
    fleet.kill("SIGTERM");
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(4);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(within(3000));
    expect(await stream.ended).toBe("cut");
    expect(fleet.stderr()).toMatch(/deadline passed with 1 request\(s\) and 0 WebSocket\(s\) open/);
    await waitFor("every fleet process to be gone", () => fleet.pids().length === 0);
  });
});
