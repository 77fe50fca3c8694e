/**
 * The paired measurement, for ratios that must hold within a few percent (fleet ×1 vs bare):
 * both configurations of a pair are loaded AT THE SAME TIME, both servers pinned to CPU 0 (their
 * workers inherit it), each in its own session (so the kernel's autogroup gives each an equal
 * share of that CPU), both wrk pinned to CPU 1; the result is the median of per-round ratios.
 * Measured one after the other, the same server varies ±20% on a shared VM; paired, an A/A pair
 * agrees within ~1%. Rounds run every pair in turn, so the A/A control sees the same noise.
 * This file runs them; specs.ts says which, stats.ts turns samples into ratios.
 */

import { freePort, rssMb } from "../../lib/procs.ts";
import { placementOf } from "../measure/placement.ts";
import { type Load, runWrk } from "../measure/wrk.ts";
import { ROUTES, type RouteName } from "../servers/app.ts";
import { type ConfigSpec, type Running, type StartContext, start } from "../servers/index.ts";
import { checkRoutes, expectedBodies } from "../servers/verify.ts";
import type { PairSpec } from "./specs.ts";
import {
  type ControlCheck,
  controlCheck,
  type PairSample,
  type PairServer,
  type PairSummary,
  summarisePair,
} from "./stats.ts";

/** The CPU every paired server runs on (taskset list). */
export const SERVER_CPUS = "0";
/** The CPU every paired wrk runs on, so load generation never takes the servers' CPU. */
export const CLIENT_CPUS = "1";

/** How the pairs are loaded. */
export interface PairOptions {
  rounds: number;
  /** While the A/A control is not trusted after `rounds`, add rounds up to this many. */
  maxRounds: number;
  warmupS: number;
  /** Per wrk; `durationS` is one round of one route. */
  load: Load;
  /** Smoke mode: every route of a pair at once. */
  quick: boolean;
}

/** What the paired measurement needs besides the pairs. */
export type PairContext = StartContext & { wrk: string; log: (line: string) => void };

/** Everything the pairs measured. */
export interface PairResult {
  options: PairOptions;
  /** Rounds actually run: `rounds`, or more while the control was not yet trusted. */
  roundsRun: number;
  pairs: PairSummary[];
  control: ControlCheck;
  samples: PairSample[];
}

type Up = { spec: PairSpec; a: Running; b: Running };

async function startPinned(spec: ConfigSpec, ctx: PairContext): Promise<Running> {
  const running = await start(spec, freePort(), ctx, SERVER_CPUS);
  await checkRoutes(running, expectedBodies(ctx.cpuBytes));
  return running;
}

/** Loads `routes` on both sides at once; one sample per route. */
async function loadBoth(up: Up, routes: RouteName[], load: Load, ctx: PairContext) {
  const wrk = (r: Running, route: RouteName) =>
    runWrk(ctx.wrk, r.url + ROUTES[route], load, ctx.processes, CLIENT_CPUS);
  return Promise.all(routes.map((route) => Promise.all([wrk(up.a, route), wrk(up.b, route)])));
}

/** One round: each pair in turn, route by route (quick: all routes of a pair at once). */
async function runRound(
  round: number,
  up: Up[],
  options: PairOptions,
  ctx: PairContext,
): Promise<PairSample[]> {
  const samples: PairSample[] = [];
  for (const pair of up) {
    const batches = options.quick ? [pair.spec.routes] : pair.spec.routes.map((r) => [r]);
    for (const routes of batches) {
      const results = await loadBoth(pair, routes, options.load, ctx);
      for (const [i, [a, b]] of results.entries()) {
        const route = routes[i] as RouteName;
        const ratio = b.rps / a.rps;
        const errors = a.errors + a.non2xx + b.errors + b.non2xx;
        samples.push({
          pair: pair.spec.name,
          round,
          route,
          aRps: a.rps,
          bRps: b.rps,
          ratio,
          errors,
        });
        ctx.log(
          `pair round ${round} ${pair.spec.label} ${route}: ${Math.round(b.rps)} / ${Math.round(a.rps)} = ${ratio.toFixed(3)}`,
        );
      }
    }
  }
  return samples;
}

function server(r: Running): PairServer {
  const serving = r.workerPids[0] ?? r.group.pgid;
  return {
    label: r.spec.label,
    placement: placementOf(serving),
    primaryMb: r.primaryPid === null ? null : rssMb(r.primaryPid),
    workerMb: r.workerPids.map((pid) => rssMb(pid) ?? Number.NaN),
  };
}

/**
 * Runs every pair for `options.rounds` rounds, pairs in turn within a round, then adds rounds
 * (up to `maxRounds`) while the A/A control is not trusted: the error of a median shrinks as
 * 1/√rounds. Every process it starts is stopped before it returns.
 */
export async function runPairs(
  specs: PairSpec[],
  options: PairOptions,
  ctx: PairContext,
): Promise<PairResult> {
  const up: Up[] = [];
  const started: Running[] = [];
  const samples: PairSample[] = [];
  try {
    for (const spec of specs) {
      const a = await startPinned(spec.a, ctx);
      started.push(a);
      const b = await startPinned(spec.b, ctx);
      started.push(b);
      up.push({ spec, a, b });
    }
    if (options.warmupS > 0) {
      const warm = { ...options.load, durationS: options.warmupS };
      for (const pair of up) await loadBoth(pair, pair.spec.routes, warm, ctx);
    }
    const controlSoFar = () => controlCheck(up.map(({ spec }) => summarisePair(spec, samples, [])));
    let round = 0;
    while (round < options.rounds || (round < options.maxRounds && !controlSoFar().pass)) {
      if (round >= options.rounds) {
        const { worst, error } = controlSoFar();
        ctx.log(
          `A/A control not trusted after ${round} rounds (${worst.toFixed(3)} ± ${error.toFixed(3)}); adding a round (at most ${options.maxRounds})`,
        );
      }
      round += 1;
      samples.push(...(await runRound(round, up, options, ctx)));
    }
    const pairs = up.map(({ spec, a, b }) => summarisePair(spec, samples, [server(a), server(b)]));
    return { options, roundsRun: round, pairs, control: controlCheck(pairs), samples };
  } finally {
    for (const running of started) await ctx.processes.stop(running.group, 1000);
  }
}
