/**
 * The paired measurement's pure parts (ratios, the A/A verdict, markdown tables) and its guard
 * against a stale server sharing the port.
 */
import { describe, expect, test } from "bun:test";
import { table } from "../../scripts/bench/format.ts";
import { assertSoleListener, listenersOn, pinned } from "../../scripts/bench/measure/placement.ts";
import type { PairResult } from "../../scripts/bench/paired/pairs.ts";
import { controlLine, formatPairs } from "../../scripts/bench/paired/report.ts";
import { pairSpecs } from "../../scripts/bench/paired/specs.ts";
import {
  controlCheck,
  type PairSample,
  pairTargets,
  summarisePair,
} from "../../scripts/bench/paired/stats.ts";

const LOAD = { threads: 1, connections: 64, durationS: 3 };

function samples(pair: string, route: "hello" | "json", ratios: number[]): PairSample[] {
  return ratios.map((ratio, i) => ({
    pair,
    round: i + 1,
    route,
    aRps: 10_000,
    bRps: 10_000 * ratio,
    ratio,
    errors: 0,
  }));
}

const aa = (ratios: number[]) =>
  summarisePair(
    { name: "aa-bare", label: "A/A", control: true },
    samples("aa-bare", "hello", ratios),
    [],
  );

const fleet = (hello: number[], json: number[], name = "fleet-1-vs-bare") =>
  summarisePair(
    { name, label: name, control: false },
    [...samples(name, "hello", hello), ...samples(name, "json", json)],
    [],
  );

describe("bench pairs", () => {
  test("a pair's ratio is the median of per-round ratios, not a ratio of medians", () => {
    // rounds where both sides slowed together: the per-round ratio stays, the medians would not
    const pair = summarisePair(
      { name: "p", label: "p", control: false },
      [
        { pair: "p", round: 1, route: "hello", aRps: 100, bRps: 95, ratio: 0.95, errors: 0 },
        { pair: "p", round: 2, route: "hello", aRps: 50, bRps: 48, ratio: 0.96, errors: 1 },
        { pair: "p", round: 3, route: "hello", aRps: 60, bRps: 58.2, ratio: 0.97, errors: 0 },
      ],
      [],
    );
    expect(pair.routes.hello?.ratio).toEqual({ median: 0.96, min: 0.95, max: 0.97, n: 3 });
    expect(pair.routes.hello?.errors).toBe(1);
    // scatter of 0.01 around the median over 3 rounds: 1.2533 × 1.4826 × 0.01 / √3
    expect(pair.routes.hello?.error).toBeCloseTo(0.01073, 5);
  });

  test("trusts the paired ratios only when the A/A control is within 1.00 ± 0.02, and precise", () => {
    const good = controlCheck([aa([0.99, 1.01, 1.0, 1.02, 0.97])]);
    expect(good.worst).toBe(1.0);
    expect(good.error).toBeCloseTo(0.0083, 4);
    expect(good.pass).toBe(true);
    expect(controlCheck([aa([1.02, 1.02, 1.02])]).pass).toBe(true); // the edge is inside
    const off = controlCheck([aa([1.03, 1.05, 1.04])]);
    expect([off.worst, off.pass]).toEqual([1.04, false]);
    // centred on 1.00 by luck: rounds scatter ±10%, so the median is good to only ~±0.06
    const noisy = controlCheck([aa([0.9, 1.1, 1.0, 0.92, 1.08, 0.95, 1.05])]);
    expect(noisy.worst).toBe(1.0);
    expect(noisy.error).toBeGreaterThan(0.05);
    expect(noisy.pass).toBe(false);
    expect(controlCheck([]).pass).toBe(false); // no control measured: nothing is trusted
    // one or two rounds say nothing about the scatter: not trusted however close to 1.00
    const short = controlCheck([aa([1.0, 1.001])]);
    expect([Number.isNaN(short.error), short.pass]).toEqual([true, false]);
  });

  test("the report says plainly when the A/A control failed, and why", () => {
    const result = (ratios: number[]): PairResult => {
      const pairs = [aa(ratios)];
      const rounds = ratios.length;
      const options = { rounds, maxRounds: rounds, warmupS: 1, quick: false, load: LOAD };
      return { options, roundsRun: rounds, pairs, control: controlCheck(pairs), samples: [] };
    };
    expect(controlLine(result([1.0, 0.99, 1.01, 1.0, 1.0]))).toBe(
      "A/A control: 1.000 ± 0.000, within 1.00 ± 0.02: the paired ratios are trusted",
    );
    expect(controlLine(result([1.05, 1.04, 1.06]))).toContain(
      "A/A control FAILED: 1.050 ± 0.011, outside 1.00 ± 0.02",
    );
    expect(controlLine(result([0.9, 1.1, 1.0, 0.92, 1.08, 0.95, 1.05]))).toContain(
      "its error exceeds 0.02",
    );
    expect(controlLine(result([1.0]))).toContain("too few rounds");
    expect(formatPairs(result([1.05, 1.04, 1.06]), false).join("\n")).toContain(
      "do NOT trust the paired ratios",
    );
  });

  test("judges DESIGN's supervisor cost: METRICS=0 ≥ 0.98× bare, counting ≥ 0.95×; untrusted when the control failed", () => {
    const pairs = [
      fleet([0.96, 0.97, 0.95], [0.94, 0.95, 0.94]),
      fleet([0.98, 0.99, 0.97], [0.97, 0.97, 0.96], "fleet-1-nometrics-vs-bare"),
    ];
    const trusted = pairTargets(pairs, { worst: 1.01, error: 0.01, tolerance: 0.02, pass: true });
    expect(trusted.map((t) => [t.text, t.value, t.limit, t.pass, t.untrusted])).toEqual([
      ["fleet ×1 METRICS=0 / bare, hello req/s (paired)", 0.98, 0.98, true, undefined],
      ["fleet ×1 METRICS=0 / bare, JSON req/s (paired)", 0.97, 0.98, false, undefined],
      ["fleet ×1 (request counting) / bare, hello req/s (paired)", 0.96, 0.95, true, undefined],
      ["fleet ×1 (request counting) / bare, JSON req/s (paired)", 0.94, 0.95, false, undefined],
    ]);
    const noisy = pairTargets(pairs, { worst: 1.05, error: 0.01, tolerance: 0.02, pass: false });
    expect(noisy.every((t) => t.untrusted === true)).toBe(true);
  });

  test("prints markdown tables for the README", () => {
    expect(table(["a", "b"], [["x", "1"]], true)).toBe("| a | b |\n| --- | ---: |\n| x | 1 |");
    expect(table(["a", "b"], [["x", "1"]])).toBe("a  b\nx  1");
  });

  test("pins a command with taskset only when asked", () => {
    expect(pinned(["wrk", "-c1"], "1")).toEqual(["taskset", "-c", "1", "wrk", "-c1"]);
    expect(pinned(["wrk"], undefined)).toEqual(["wrk"]);
  });

  test("refuses a port that another process also listens on (a stale reusePort server)", async () => {
    const stale = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      reusePort: true,
      fetch: () => new Response("stale"),
    });
    const port = stale.port ?? 0;
    try {
      expect(listenersOn(port).pids).toEqual([process.pid]);
      // the group under test is this process's own; a pgid that owns nothing finds a stranger
      const ownGroup = Number(
        (await Bun.file("/proc/self/stat").text()).split(") ")[1]?.split(" ")[2],
      );
      expect(() => assertSoleListener(port, ownGroup, "me")).not.toThrow();
      expect(() => assertSoleListener(port, 1, "bench server")).toThrow(
        `bench server: port ${port} is also held by ${process.pid}`,
      );
    } finally {
      stale.stop(true);
    }
    expect(() => assertSoleListener(port, 1, "gone")).toThrow("nothing listens");
  });
});

describe("pair specs", () => {
  test("--against-env configures only the --against side, over --env", () => {
    const pairs = pairSpecs({
      against: "/elsewhere",
      fleetEnv: { WORKER_INDEX_HEADER: "1" },
      againstEnv: { METRICS: "0" },
    });
    const extra = pairs.find((p) => p.name === "here-vs-against");
    expect(extra?.a.env).toEqual({ WORKER_INDEX_HEADER: "1", METRICS: "0" });
    expect(extra?.b.env).toEqual({ WORKER_INDEX_HEADER: "1" });
    expect(extra?.a.label).toBe("fleet ×1 (/elsewhere METRICS=0)");
  });
});
