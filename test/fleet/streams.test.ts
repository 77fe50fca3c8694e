import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  FIXTURES,
  type Fleet,
  NO_EXTRAS,
  startReadyFleet,
  timed,
  waitFor,
} from "../helpers/fleet.ts";

/** Opens an SSE stream and reads it in the background until it ends or is cut. */
async function openStream(fleet: Fleet, path: string) {
  const res = await fetch(fleet.url(path));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  let text = "";
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for await (const chunk of res.body ?? []) text += decoder.decode(chunk, { stream: true });
      return "ended";
    } catch {
      return "cut";
    }
  })();
  await waitFor(`the first event on ${path}`, () => text.includes("event: tick"));
  return { ended, text: () => text };
}

describe("streams on drain", () => {
  test("SSE streams that end on worker.signal let a stop exit 0 at once", async () => {
    const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, SHUTDOWN_TIMEOUT_MS: "10000" } });
    const streams = await Promise.all(
      Array.from({ length: 6 }, () => openStream(fleet, "/events")),
    );
    fleet.kill("SIGTERM");
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000); // the deadline is 10 s
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
    expect(ms).toBeLessThan(3000);
    expect(await stream.ended).toBe("cut");
    expect(fleet.stderr()).toMatch(/deadline passed with 1 request\(s\) and 0 WebSocket\(s\) open/);
    await waitFor("every fleet process to be gone", () => fleet.pids().length === 0);
  });
});
