/**
 * The bench: first the pairs (see paired/pairs.ts), then the sequential rounds for what needs
 * both cores (see sequential/rounds.ts), then the targets of both.
 */
import { type PairResult, runPairs } from "./paired/pairs.ts";
import { type PairChoice, pairSpecs } from "./paired/specs.ts";
import { pairRssTargets, pairTargets } from "./paired/stats.ts";
import { type RoundContext, type RoundOptions, runRounds } from "./sequential/rounds.ts";
import {
  type ConfigSummary,
  type LifeSample,
  type LoadSample,
  summarise,
  targets,
} from "./sequential/stats.ts";
import { configs } from "./servers/index.ts";
import type { Target } from "./stats.ts";

/** How the bench runs: what the sequential rounds take (their env aside), and the pairs'. */
export interface BenchOptions extends Omit<RoundOptions, "fleetEnv"> {
  /**
   * Rounds of the paired measurement (0: none), at most how many while the A/A control is not
   * trusted, and wrk -d of one of its samples.
   */
  pairRounds: number;
  pairMaxRounds: number;
  pairDurationS: number;
  /** Only the pairs: no sequential loop (no scaling, Node or lifecycle numbers). */
  pairsOnly: boolean;
  pairChoice: PairChoice;
}

/** Everything one run measured, ready for the table or `--json`. */
export interface BenchResult {
  options: BenchOptions;
  cpuBytes: number;
  /** The paired measurement; null when it was not run (`--pair-rounds 0`). */
  paired: PairResult | null;
  summaries: ConfigSummary[];
  targets: Target[];
  load: LoadSample[];
  life: LifeSample[];
}

/** The paired measurement, unless turned off or impossible (it needs two cores). */
async function runPaired(options: BenchOptions, ctx: RoundContext): Promise<PairResult | null> {
  if (options.pairRounds === 0) return null;
  if (navigator.hardwareConcurrency < 2) {
    ctx.log("paired measurement skipped: it pins servers and wrk to two different cores");
    return null;
  }
  const load = { ...options.load, durationS: options.pairDurationS };
  const pairOptions = {
    rounds: options.pairRounds,
    maxRounds: options.pairMaxRounds,
    warmupS: options.warmupS,
    load,
    quick: options.quick,
  };
  return runPairs(pairSpecs(options.pairChoice), pairOptions, ctx);
}

/** Runs the pairs, then every sequential round (configurations interleaved), and summarises. */
export async function runBench(options: BenchOptions, ctx: RoundContext): Promise<BenchResult> {
  const paired = await runPaired(options, ctx);
  const rounds = { ...options, fleetEnv: options.pairChoice.fleetEnv };
  const { load, life } = options.pairsOnly ? { load: [], life: [] } : await runRounds(rounds, ctx);
  const specs = options.pairsOnly ? [] : configs(options.workers);
  const summaries = specs.map((spec) => summarise(spec, load, life));
  return {
    options,
    cpuBytes: ctx.cpuBytes,
    paired,
    summaries,
    targets: [
      ...(paired ? pairTargets(paired.pairs, paired.control) : []),
      ...(options.pairsOnly
        ? pairRssTargets(paired?.pairs ?? [])
        : targets(summaries, options.workers)),
    ],
    load,
    life,
  };
}
