/**
 * The bench loop. Each round starts every configuration on a fresh port (boot timed while the
 * others idle), checks and warms them up, reads RSS, then loads route by route in configuration
 * order (A B C D, A B C D, …) so the samples being compared are seconds apart, not minutes, and
 * finally stops each one idle and times it.
 */
import { ROUTES, type RouteName } from "./app.ts";
import { waitIdle } from "./noise.ts";
import { isAlive, rssMb } from "./procs.ts";
import { type SampleContext, sample } from "./sample.ts";
import { configs, type Running, type StartContext, start, stop } from "./servers.ts";
import {
  type ConfigSummary,
  type LifeSample,
  type LoadSample,
  summarise,
  type Target,
  targets,
} from "./stats.ts";
import { checkRoutes, expectedBodies } from "./verify.ts";
import { type Load, runWrk } from "./wrk.ts";

/** How the bench runs. */
export interface BenchOptions {
  quick: boolean;
  rounds: number;
  workers: number;
  load: Load;
  warmupS: number;
  /** Retake a sample when other processes took more than this percent of the machine. */
  maxOtherCpuPct: number;
}

/** Everything one run measured, ready for the table or `--json`. */
export interface BenchResult {
  options: BenchOptions;
  cpuBytes: number;
  summaries: ConfigSummary[];
  targets: Target[];
  load: LoadSample[];
  life: LifeSample[];
}

type Context = StartContext & Omit<SampleContext, "load" | "maxOtherCpuPct">;

const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];

/** A free 127.0.0.1 port, as the kernel hands one out. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

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
    for (const spec of configs(options.workers)) {
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

/** Runs every round, configurations interleaved within each, and summarises. */
export async function runBench(options: BenchOptions, ctx: Context): Promise<BenchResult> {
  const load: LoadSample[] = [];
  const life: LifeSample[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const result = await runRound(round, options, ctx);
    load.push(...result.load);
    life.push(...result.life);
  }
  const summaries = configs(options.workers).map((spec) => summarise(spec, load, life));
  return {
    options,
    cpuBytes: ctx.cpuBytes,
    summaries,
    targets: targets(summaries, options.workers),
    load,
    life,
  };
}
