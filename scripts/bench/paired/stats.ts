/**
 * From paired samples to ratios: per round, B's req/s over A's measured in the same seconds;
 * over rounds, the median of those ratios. The A/A pair (the same configuration on both sides)
 * says how far a ratio of 1.00 wanders on this machine right now, so whether to trust the others.
 */

import type { Placement } from "../measure/placement.ts";
import type { RouteName } from "../servers/app.ts";
import { rssTargets, type Spread, spread, type Target } from "../stats.ts";

/** How far the A/A ratio may be from 1.00 before no paired ratio is trusted. */
export const AA_TOLERANCE = 0.02;

/** One round of one route of one pair: both sides loaded at the same time. */
export interface PairSample {
  pair: string;
  round: number;
  route: RouteName;
  aRps: number;
  bRps: number;
  /** bRps / aRps. */
  ratio: number;
  /** Socket errors and non-2xx answers on both sides together. */
  errors: number;
}

/** One server of a pair: where it ran and how big it was after the rounds. */
export interface PairServer {
  label: string;
  placement: Placement | null;
  primaryMb: number | null;
  workerMb: number[];
}

/** One route of one pair, over rounds. */
export interface PairRoute {
  ratio: Spread;
  /**
   * How precise the median ratio is, from how the per-round ratios scatter: the standard error
   * of a median, ≈ 1.25 σ/√n, with σ estimated robustly as 1.4826 × the median absolute
   * deviation.
   */
  error: number;
  aRps: Spread;
  bRps: Spread;
  errors: number;
}

/** One pair, over rounds. */
export interface PairSummary {
  name: string;
  /** "B / A", e.g. "fleet ×1 / bare Bun.serve". */
  label: string;
  /** True for the A/A pair (same configuration on both sides). */
  control: boolean;
  routes: Partial<Record<RouteName, PairRoute>>;
  servers: PairServer[];
}

/** Summarises the samples of pair `name`. */
export function summarisePair(
  pair: { name: string; label: string; control: boolean },
  samples: PairSample[],
  servers: PairServer[],
): PairSummary {
  const mine = samples.filter((s) => s.pair === pair.name);
  const routes: Partial<Record<RouteName, PairRoute>> = {};
  for (const route of new Set(mine.map((s) => s.route))) {
    const of = mine.filter((s) => s.route === route);
    const ratio = spread(of.map((s) => s.ratio));
    const mad = spread(of.map((s) => Math.abs(s.ratio - ratio.median))).median;
    routes[route] = {
      ratio,
      // fewer than 3 rounds say nothing about their scatter
      error: of.length < 3 ? Number.NaN : (1.2533 * 1.4826 * mad) / Math.sqrt(of.length),
      aRps: spread(of.map((s) => s.aRps)),
      bRps: spread(of.map((s) => s.bRps)),
      errors: of.reduce((sum, s) => sum + s.errors, 0),
    };
  }
  return { ...pair, routes, servers };
}

/**
 * The A/A verdict: the control's median ratio within 1.00 ± AA_TOLERANCE, and precise enough to
 * tell (its error no larger than the tolerance either: with per-round ratios scattered ±10%, a
 * median of 7 rounds can land near 1.00 by luck and would not vouch for the other pairs).
 */
export interface ControlCheck {
  /** The control ratio furthest from 1.00. */
  worst: number;
  /** The largest error (see PairRoute.error) of a control ratio; NaN with under 3 rounds. */
  error: number;
  tolerance: number;
  pass: boolean;
}

/** Checks the control pairs; with none measured, nothing is trusted. */
export function controlCheck(pairs: PairSummary[]): ControlCheck {
  const routes = pairs.filter((p) => p.control).flatMap((p) => Object.values(p.routes));
  const ratios = routes.map((r) => r.ratio.median);
  const worst = ratios.reduce(
    (far, r) => (Math.abs(r - 1) > Math.abs(far - 1) ? r : far),
    ratios[0] ?? Number.NaN,
  );
  const errors = routes.map((r) => r.error);
  const error = errors.length && !errors.some(Number.isNaN) ? Math.max(...errors) : Number.NaN;
  const within = (n: number) => n <= AA_TOLERANCE + 1e-9; // 1.02 - 1 is 0.020000000000000018
  const pass = within(Math.abs(worst - 1)) && within(error);
  return { worst, error, tolerance: AA_TOLERANCE, pass };
}

/**
 * The paired targets (DESIGN, "Supervisor cost"): fleet ×1 with METRICS=0 ≥ 0.98× bare, with
 * request counting (as shipped) ≥ 0.95×, on hello and JSON; marked untrusted when A/A failed.
 */
export function pairTargets(pairs: PairSummary[], check: ControlCheck): Target[] {
  const ratio = (name: string, route: RouteName) =>
    pairs.find((p) => p.name === name)?.routes[route]?.ratio.median ?? Number.NaN;
  const paired = (text: string, value: number, limit: number): Target => ({
    text,
    value,
    op: ">=",
    limit,
    unit: "×",
    pass: value >= limit,
    ...(check.pass ? {} : { untrusted: true }),
  });
  const targets: Target[] = [];
  if (pairs.some((p) => p.name === "fleet-1-nometrics-vs-bare"))
    targets.push(
      paired(
        "fleet ×1 METRICS=0 / bare, hello req/s (paired)",
        ratio("fleet-1-nometrics-vs-bare", "hello"),
        0.98,
      ),
      paired(
        "fleet ×1 METRICS=0 / bare, JSON req/s (paired)",
        ratio("fleet-1-nometrics-vs-bare", "json"),
        0.98,
      ),
    );
  targets.push(
    paired(
      "fleet ×1 (request counting) / bare, hello req/s (paired)",
      ratio("fleet-1-vs-bare", "hello"),
      0.95,
    ),
    paired(
      "fleet ×1 (request counting) / bare, JSON req/s (paired)",
      ratio("fleet-1-vs-bare", "json"),
      0.95,
    ),
  );
  return targets;
}

/** With only pairs run: the fleet ×1 primary's RSS (≤ 35 MB), its worker's (≤ bare + 5 MB). */
export function pairRssTargets(pairs: PairSummary[]): Target[] {
  const servers = pairs.find((p) => p.name === "fleet-1-vs-bare")?.servers ?? [];
  const [bare, fleet] = [servers[0], servers[1]];
  const bareMb = bare?.workerMb[0] ?? Number.NaN;
  const workerMb = fleet?.workerMb[0] ?? Number.NaN;
  return rssTargets("fleet ×1", workerMb, bareMb, fleet?.primaryMb ?? Number.NaN);
}
