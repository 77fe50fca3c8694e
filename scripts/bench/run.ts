/**
 * The bench: first the pairs (see paired/pairs.ts), then the sequential loop for what needs both cores
 * (fleet ×N vs ×1, Node's cluster) and the lifecycle numbers. Each sequential round starts every
 * configuration on a fresh port (boot timed while the others idle), checks and warms them up,
 * reads RSS, then loads route by route in configuration order (A B C D, A B C D, …) so the
 * samples being compared are seconds apart, not minutes, and finally stops each one idle and
 * times it.
 */

import { freePort, isAlive, rssMb } from "../lib/procs.ts";
import { waitIdle } from "./measure/noise.ts";
import { type SampleContext, sample } from "./measure/sample.ts";
import { type Load, runWrk } from "./measure/wrk.ts";
import { type PairResult, runPairs } from "./paired/pairs.ts";
import { type PairChoice, pairSpecs } from "./paired/specs.ts";
import { pairRssTargets, pairTargets } from "./paired/stats.ts";
import { ROUTES, type RouteName } from "./servers/app.ts";
import { configs, type Running, type StartContext, start, stop } from "./servers/index.ts";
import { checkRoutes, expectedBodies } from "./servers/verify.ts";
import {
  type ConfigSummary,
  type LifeSample,
  type LoadSample,
  summarise,
  type Target,
  targets,
} from "./stats.ts";

/** How the bench runs. */
export interface BenchOptions {
  quick: boolean;
  rounds: number;
  workers: number;
  load: Load;
  warmupS: number;
  /** Retake a sample when other processes took more than this percent of the machine. */
  maxOtherCpuPct: number;
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

type Context = StartContext & Omit<SampleContext, "load" | "maxOtherCpuPct">;

const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];

function describe(up: Running[]): string {
  return up
    .map((r) => {
      const alive = [r.group.pgid, ...r.workerPids].filter(isAlive);
      return `--- ${r.spec.label} (alive: ${alive.join(", ") || "none"})\n${r.group.describe()}`;
    })
    .join("\n");
}

/** One round of every configuration; every process it starts is stopped before it returns. */
async function runRound(round: number, options: BenchOptions, ctx: Context) {
  const up: Running[] = [];
  const load: LoadSample[] = [];
  const life: LifeSample[] = [];
  const sampling: SampleContext = {
    ...ctx,
    load: options.load,
    maxOtherCpuPct: options.maxOtherCpuPct,
  };
  try {
    for (const spec of configs(options.workers, options.pairChoice.fleetEnv)) {
      const running = await start(spec, freePort(), ctx);
      up.push(running);
      await checkRoutes(running, expectedBodies(ctx.cpuBytes));
    }
    const warm = { ...options.load, durationS: options.warmupS };
    for (const running of up) {
      for (const route of options.warmupS > 0 ? ROUTE_NAMES : []) {
        await runWrk(ctx.wrk, running.url + ROUTES[route], warm, ctx.processes);
      }
    }
    const rss = up.map((r) => ({
      primary: r.primaryPid === null ? null : rssMb(r.primaryPid),
      workers: r.workerPids.map((pid) => rssMb(pid) ?? Number.NaN),
    }));
    // quick: every route at once per configuration; full: route by route, configurations interleaved
    const batches = options.quick ? [ROUTE_NAMES] : ROUTE_NAMES.map((route) => [route]);
    for (const routes of batches) {
      for (const running of up) {
        for (const [route, { cpuUs: _, ...m }] of await sample(running, routes, sampling)) {
          load.push({ config: running.spec.name, round, route, ...m });
        }
      }
    }
    for (const [i, running] of up.entries()) {
      // the stop target is for an idle fleet: let it finish what wrk left queued (up to 64 ms of /cpu)
      if (!(await waitIdle(running.group.pgid)))
        ctx.log(`${running.spec.label} still busy 3 s after wrk`);
      const stopMs = await stop(running, ctx);
      life.push({
        config: running.spec.name,
        round,
        spawnToReadyMs: running.spawnToReadyMs,
        reportedReadyMs: running.reportedReadyMs,
        stopMs,
        rssPrimaryMb: rss[i]?.primary ?? null,
        rssWorkersMb: rss[i]?.workers ?? [],
        cpuMs: running.cpuMs,
      });
      const rates = load
        .filter((s) => s.config === running.spec.name)
        .map((s) => `${s.route} ${Math.round(s.rps)}/s p99 ${s.p99Ms} ms`)
        .join(", ");
      ctx.log(
        `round ${round} ${running.spec.label}: ready ${Math.round(running.spawnToReadyMs)} ms, ${rates}, stop ${stopMs.toFixed(1)} ms`,
      );
    }
    return { load, life };
  } catch (error) {
    throw new Error(`round ${round}: ${(error as Error).message}\n${describe(up)}`, {
      cause: error,
    });
  } finally {
    for (const running of up) await ctx.processes.stop(running.group, 1000); // no-op once stopped
  }
}

/** The paired measurement, unless turned off or impossible (it needs two cores). */
async function runPaired(options: BenchOptions, ctx: Context): Promise<PairResult | null> {
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
export async function runBench(options: BenchOptions, ctx: Context): Promise<BenchResult> {
  const paired = await runPaired(options, ctx);
  const load: LoadSample[] = [];
  const life: LifeSample[] = [];
  for (let round = 1; round <= (options.pairsOnly ? 0 : options.rounds); round++) {
    const result = await runRound(round, options, ctx);
    load.push(...result.load);
    life.push(...result.life);
  }
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
