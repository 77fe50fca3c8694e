/**
 * The paired measurement, for ratios that must hold within a few percent (fleet ×1 vs bare):
 * both configurations of a pair are loaded AT THE SAME TIME, both servers pinned to CPU 0 (their
 * workers inherit it), each in its own session (so the kernel's autogroup gives each an equal
 * share of that CPU), both wrk pinned to CPU 1; the result is the median of per-round ratios.
 * Measured one after the other, the same server varies ±20% on a shared VM; paired, an A/A pair
 * agrees within ~1%. Rounds run every pair in turn, so the A/A control sees the same noise.
 */
import { ROUTES, type RouteName } from "./app.ts";
import {
  type ControlCheck,
  controlCheck,
  type PairSample,
  type PairServer,
  type PairSummary,
  summarisePair,
} from "./pair-stats.ts";
import { placementOf } from "./placement.ts";
import { freePort, rssMb } from "./procs.ts";
import { type ConfigSpec, type Running, type StartContext, start } from "./servers.ts";
import { checkRoutes, expectedBodies } from "./verify.ts";
import { type Load, runWrk } from "./wrk.ts";

/** Where the servers run and where wrk runs. */
export const SERVER_CPUS = "0";
export const CLIENT_CPUS = "1";

/** Two configurations measured side by side; the ratio reported is B / A. */
export interface PairSpec {
  name: string;
  label: string;
  /** The A/A control: the same configuration on both sides. */
  control: boolean;
  a: ConfigSpec;
  b: ConfigSpec;
  routes: RouteName[];
}

/** What the pairs are made of: `against` adds this checkout's fleet vs another checkout's. */
export interface PairChoice {
  /** Another checkout (e.g. a worktree of main) whose fleet ×1 is side A of an extra pair. */
  against?: string | undefined;
  /** Env for every fleet configuration (e.g. WORKER_INDEX_HEADER=1 to see what it costs). */
  fleetEnv: Record<string, string>;
}

/** The pairs: A/A control (bare vs bare), fleet ×1 vs bare, and optionally here vs `against`. */
export function pairSpecs({ against, fleetEnv }: PairChoice): PairSpec[] {
  const bare = (name: string, label: string): ConfigSpec => ({
    name,
    label,
    kind: "bare",
    workers: 1,
  });
  const fleet = (name: string, label: string, root?: string): ConfigSpec => ({
    name,
    label,
    kind: "fleet",
    workers: 1,
    env: fleetEnv,
    ...(root === undefined ? {} : { root }),
  });
  const pairs: PairSpec[] = [
    {
      name: "aa-bare",
      label: "A/A: bare / bare",
      control: true,
      a: bare("bare-a", "bare Bun.serve (A)"),
      b: bare("bare-b", "bare Bun.serve (B)"),
      routes: ["hello"],
    },
    {
      name: "fleet-1-vs-bare",
      label: "fleet ×1 / bare",
      control: false,
      a: bare("bare", "bare Bun.serve"),
      b: fleet("fleet-1", "fleet ×1"),
      routes: ["hello", "json"],
    },
  ];
  if (against !== undefined) {
    pairs.push({
      name: "here-vs-against",
      label: "fleet ×1 here / fleet ×1 --against",
      control: false,
      a: fleet("fleet-1-against", `fleet ×1 (${against})`, against),
      b: fleet("fleet-1-here", "fleet ×1 (this checkout)"),
      routes: ["hello", "json"],
    });
  }
  return pairs;
}

/** How the pairs are loaded. */
export interface PairOptions {
  rounds: number;
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
 * Runs every pair for `options.rounds` rounds, pairs in turn within a round; every process it
 * starts is stopped before it returns.
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
    for (let round = 1; round <= options.rounds; round++) {
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
    }
    const pairs = up.map(({ spec, a, b }) => summarisePair(spec, samples, [server(a), server(b)]));
    return { options, pairs, control: controlCheck(pairs), samples };
  } finally {
    for (const running of started) await ctx.processes.stop(running.group, 1000);
  }
}
