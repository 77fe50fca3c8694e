/**
 * The sequential rounds, for what needs both cores (fleet ×N vs ×1, Node's cluster) and the
 * lifecycle numbers. Each round starts every configuration on a fresh port (boot timed while the
 * others idle), checks and warms them up, reads RSS, then loads route by route in configuration
 * order (A B C D, A B C D, …) so the samples being compared are seconds apart, not minutes, and
 * finally stops each one idle and times it.
 */
import { freePort, isAlive, rssMb } from "../../lib/procs.ts";
import { waitIdle } from "../measure/noise.ts";
import { type SampleContext, sample } from "../measure/sample.ts";
import { type Load, runWrk } from "../measure/wrk.ts";
import { ROUTES, type RouteName } from "../servers/app.ts";
import { configs, type Running, type StartContext, start, stop } from "../servers/index.ts";
import { checkRoutes, expectedBodies } from "../servers/verify.ts";
import type { LifeSample, LoadSample } from "./stats.ts";

/** What the rounds take from the bench's options. */
export interface RoundOptions {
  quick: boolean;
  rounds: number;
  workers: number;
  load: Load;
  warmupS: number;
  /** Retake a sample when other processes took more than this percent of the machine. */
  maxOtherCpuPct: number;
  /** Env for every fleet under test (`--env`). */
  fleetEnv: Record<string, string>;
}

/** What the rounds need to start, sample and stop the configurations. */
export type RoundContext = StartContext & Omit<SampleContext, "load" | "maxOtherCpuPct">;

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
async function runRound(round: number, options: RoundOptions, ctx: RoundContext) {
  const up: Running[] = [];
  const load: LoadSample[] = [];
  const life: LifeSample[] = [];
  const sampling: SampleContext = {
    ...ctx,
    load: options.load,
    maxOtherCpuPct: options.maxOtherCpuPct,
  };
  try {
    for (const spec of configs(options.workers, options.fleetEnv)) {
      const running = await start(spec, freePort(), ctx);
      up.push(running);
      await checkRoutes(running, expectedBodies(ctx.cpuBytes));
    }
    const warm = { ...options.load, durationS: options.warmupS };
    const routesOf = (running: Running) => running.spec.routes ?? ROUTE_NAMES;
    for (const running of up) {
      for (const route of options.warmupS > 0 ? routesOf(running) : []) {
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
        const mine = routes.filter((route) => routesOf(running).includes(route));
        if (mine.length === 0) continue;
        for (const [route, { cpuUs: _, ...m }] of await sample(running, mine, sampling)) {
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

/** Every round, one after the other; the samples of all of them. */
export async function runRounds(
  options: RoundOptions,
  ctx: RoundContext,
): Promise<{ load: LoadSample[]; life: LifeSample[] }> {
  const load: LoadSample[] = [];
  const life: LifeSample[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const result = await runRound(round, options, ctx);
    load.push(...result.load);
    life.push(...result.life);
  }
  return { load, life };
}
