import { describe, expect, test } from "bun:test";
import { sparkline, TrendWindow, trendLines } from "../../scripts/cli/trend.ts";
import type { HistorySample } from "../../workers/primary/observe/history-json.ts";

const sample = (t: number, rps: (number | null)[]): HistorySample => ({
  t,
  rps: null,
  p50Ms: null,
  p99Ms: null,
  rssBytes: 0,
  primaryRssBytes: 0,
  websockets: 0,
  sseStreams: 0,
  pubsubPerS: 0,
  relayedPerS: 0,
  app: {},
  workers: rps.map((r, index) => ({
    index,
    pid: 100 + index,
    rps: r,
    rssBytes: null,
    websockets: 0,
  })),
  extras: [],
});

describe("status --watch trend", () => {
  test("a sparkline scales to the maximum; a missing second is a space", () => {
    expect(sparkline([0, 50, 100, null, 25], 100)).toBe("▁▅█ ▃");
    expect(sparkline([0, 0], 0)).toBe("▁▁");
    expect(sparkline([300], 100)).toBe("█");
  });

  test("one line per worker on a shared scale, right-aligned, with the latest figure", () => {
    const samples = [sample(1000, [0, 10]), sample(2000, [20, 40]), sample(3000, [40, null])];
    expect(trendLines(samples, 5)).toBe(
      [
        "requests/s, last 3 s (top of scale 40/s):",
        "worker 0    ▁▅█  40/s",
        "worker 1    ▃█   -",
      ].join("\n"),
    );
    expect(trendLines([], 5)).toBe("");
  });

  test("the window keeps the newest samples and asks only for what is newer", () => {
    const window = new TrendWindow(2);
    expect(window.since).toBe(0);
    const add = (samples: HistorySample[]) =>
      window.add({ intervalMs: 1000, capacity: 900, samples, events: [] });
    add([sample(1000, [1]), sample(2000, [2]), sample(3000, [3])]);
    expect(window.samples.map((s) => s.t)).toEqual([2000, 3000]);
    expect(window.since).toBe(3000);
    add([sample(4000, [4])]);
    expect(window.samples.map((s) => s.t)).toEqual([3000, 4000]);
  });
});
