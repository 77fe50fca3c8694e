import { describe, expect, test } from "bun:test";
import {
  FleetHistory,
  HISTORY_CAPACITY,
  quantileMs,
} from "../../workers/primary/observe/history.ts";
import type { FleetView, Sample } from "../../workers/primary/observe/sample.ts";
import type { ReloadRecord } from "../../workers/primary/operations.ts";
import type { ChildSnapshot } from "../../workers/snapshot.ts";
import { DURATION_BUCKETS } from "../../workers/snapshot.ts";

const T0 = 1_800_000_000_000;

/** A worker process as the history reads it: identity, slot, start time. */
function proc(index: number, pid: number, extra: string | null = null) {
  return {
    index,
    pid,
    startedAt: T0 - 10_000,
    init: { extra: extra ? { name: extra, module: "x" } : null },
  } as unknown as Sample["worker"];
}

function snapshot(
  requests: number,
  buckets: number[] = [],
  rss = 40e6,
  websockets = 0,
): ChildSnapshot {
  const full = new Array(DURATION_BUCKETS.length + 1).fill(0);
  buckets.forEach((n, i) => {
    full[i] = n;
  });
  return {
    rss,
    metered: true,
    requests,
    inFlight: 0,
    counts: [],
    buckets: full,
    durationSum: 0,
    websockets,
    sseStreams: 0,
    sseCut: 0,
  };
}

/** A primary's view with counters the test moves. */
function view() {
  const ops = {
    reloads: { complete: 0, aborted: 0 },
    recycles: 0,
    scaleChanges: 0,
    lastReload: null as ReloadRecord | null,
  };
  const totals = { restarts: 0, crashes: 0 };
  const http: unknown[] = [{}, {}];
  const v = {
    pid: 1,
    state: "running",
    startedAt: T0,
    startWorkers: 2,
    pool: { totals, http, extras: [] },
    history: ops,
    pubsub: { hub: { published: 0, remote: 0, relayed: 0, dropped: 0 }, redis: null },
  } as unknown as FleetView;
  return { v, ops, totals, http };
}

describe("fleet history", () => {
  test("the app's counters (stats named *_total) become per-second rates summed over workers", () => {
    const h = new FleetHistory();
    const { v } = view();
    const w0 = proc(0, 100);
    const w1 = proc(1, 101);
    const ticker = proc(0, 102, "ticker");
    const withApp = (app: NonNullable<ChildSnapshot["app"]>) => ({ ...snapshot(0), app });
    h.record(
      v,
      [
        { worker: w0, slot: undefined, snapshot: withApp({ q_total: 10, database: "sqlite" }) },
        { worker: w1, slot: undefined, snapshot: withApp({ q_total: 0, open: 3 }) },
        { worker: ticker, slot: undefined, snapshot: withApp({ q_total: 1000 }) },
      ],
      T0,
    );
    h.record(
      v,
      [
        { worker: w0, slot: undefined, snapshot: withApp({ q_total: 30, e_total: 1 }) },
        { worker: w1, slot: undefined, snapshot: withApp({ q_total: 20, open: 3 }) },
        { worker: ticker, slot: undefined, snapshot: withApp({ q_total: 5000 }) },
      ],
      T0 + 2000,
    );
    const [, second] = h.json().samples;
    // (30 - 10) / 2 s + (20 - 0) / 2 s; e_total from 0 at its first report; gauges and strings
    // (open, database) and extras are left out.
    expect(second?.app).toEqual({ q_total: 20, e_total: 0.5 });
    // The first report counts from each worker's start (10 s before T0): 10 queries in 10 s.
    expect(h.json().samples[0]?.app).toEqual({ q_total: 1 });
  });

  test("requests/s per worker and fleet-wide come from counter differences between samples; open WebSockets and SSE streams are the HTTP workers' sums", () => {
    const h = new FleetHistory();
    const { v } = view();
    const w0 = proc(0, 100);
    const w1 = proc(1, 101);
    const ticker = proc(0, 102, "ticker");
    h.record(v, [{ worker: w0, slot: undefined, snapshot: snapshot(0) }], T0, 30e6);
    h.record(
      v,
      [
        {
          worker: w0,
          slot: undefined,
          snapshot: { ...snapshot(500, [400, 100], 41e6, 3), sseStreams: 2 },
        },
        { worker: w1, slot: undefined, snapshot: null },
        {
          worker: ticker,
          slot: undefined,
          snapshot: { ...snapshot(0), metered: false, sseStreams: 5 }, // an extra's: left out
        },
      ],
      T0 + 2000,
      30e6,
    );
    const [first, second] = h.json().samples;
    expect(first?.t).toBe(T0);
    expect(second).toMatchObject({
      t: T0 + 2000,
      rps: 250,
      websockets: 3,
      sseStreams: 2,
      primaryRssBytes: 30e6,
      workers: [
        { index: 0, pid: 100, rps: 250, rssBytes: 41e6, websockets: 3 },
        { index: 1, pid: 101, rps: null, rssBytes: null, websockets: null },
      ],
      extras: [{ name: "ticker", index: 0, pid: 102, rssBytes: 40e6 }],
    });
    // 400 requests under 0.5 ms, 100 in 0.5-1 ms: p50 inside the first bucket, p99 in the second.
    expect(second?.p50Ms).toBeCloseTo(0.31, 2);
    expect(second?.p99Ms).toBeCloseTo(0.98, 2);
    expect(second?.rssBytes).toBe(30e6 + 41e6 + 40e6);
    expect(h.json(T0).samples.map((s) => s.t)).toEqual([T0 + 2000]);
  });

  test("a sample with no requests has no latency, and pub/sub rates come from the hub's counters", () => {
    const h = new FleetHistory();
    const { v } = view();
    const w0 = proc(0, 100);
    h.record(v, [{ worker: w0, slot: undefined, snapshot: snapshot(10) }], T0, 1);
    v.pubsub.hub.published = 30;
    v.pubsub.hub.remote = 10;
    v.pubsub.hub.relayed = 80;
    h.record(v, [{ worker: w0, slot: undefined, snapshot: snapshot(10) }], T0 + 1000, 1);
    expect(h.json().samples[1]).toMatchObject({
      rps: 0,
      p50Ms: null,
      p99Ms: null,
      pubsubPerS: 40,
      relayedPerS: 80,
    });
  });

  test("keeps 15 minutes at most: the ring drops the oldest, and holds 64 workers in under 1.6 MB", () => {
    const h = new FleetHistory();
    const { v } = view();
    const workers = Array.from({ length: 64 }, (_, i) => proc(i, 1000 + i));
    for (let k = 0; k < HISTORY_CAPACITY + 50; k++) {
      const samples = workers.map((worker) => ({ worker, slot: undefined, snapshot: snapshot(k) }));
      h.record(v, samples, T0 + k * 1000, 1);
    }
    expect(h.size).toBe(HISTORY_CAPACITY);
    const { samples } = h.json();
    expect(samples).toHaveLength(900);
    expect(samples[0]?.t).toBe(T0 + 50_000);
    expect(samples.at(-1)?.t).toBe(T0 + 949_000);
    expect(samples.at(-1)?.workers).toHaveLength(64);
    // 900 x 10 float64 + 900 x 64 x 6 float32 = 72,000 + 1,382,400 bytes.
    expect(h.bytes).toBe(1_454_400);
  });

  test("marks reloads, recycles, scale changes, crashes and respawns; replacements in a reload are not restarts", () => {
    const h = new FleetHistory();
    const { v, ops, totals, http } = view();
    let t = T0;
    const tick = () => {
      t += 1000;
      h.record(v, [], t, 1);
    };
    tick();
    ops.lastReload = { why: "SIGHUP", startedAt: t, finishedAt: null, outcome: "running" };
    totals.restarts += 1;
    tick();
    totals.restarts += 1;
    ops.lastReload.outcome = "complete";
    ops.reloads.complete += 1;
    tick();
    totals.crashes += 1;
    tick();
    totals.restarts += 1;
    tick();
    http.push({});
    ops.scaleChanges += 1;
    tick();
    ops.recycles += 1;
    totals.restarts += 1;
    tick();
    tick();
    expect(h.json().events.map((e) => [e.t - T0, e.kind, e.text])).toEqual([
      [2000, "reload", "reload started (SIGHUP)"],
      [3000, "reload", "reload complete"],
      [4000, "crash", "1 process(es) exited unexpectedly"],
      [5000, "restart", "1 process(es) respawned"],
      [6000, "scale", "scaled to 3 worker(s)"],
      [7000, "recycle", "1 worker(s) recycled"],
    ]);
    expect(h.json(T0 + 4000).events.map((e) => e.kind)).toEqual(["restart", "scale", "recycle"]);
  });

  test("quantiles interpolate inside the histogram bucket; +Inf reports the last bound", () => {
    expect(quantileMs([], 0.5)).toBeNull();
    expect(quantileMs([0, 10], 0.5)).toBeCloseTo(0.75, 5);
    const inf = new Array(DURATION_BUCKETS.length + 1).fill(0);
    inf[DURATION_BUCKETS.length] = 5;
    expect(quantileMs(inf, 0.99)).toBe(10_000);
  });
});
