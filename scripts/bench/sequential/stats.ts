/**
 * From the sequential rounds' samples to what the report shows: median and min–max per
 * configuration and route, and the issue's targets as ratios within one run.
 */
import type { RouteName } from "../servers/app.ts";
import { rssTargets, type Spread, spread, type Target, target } from "../stats.ts";

/** One wrk run of one route on one configuration. */
export interface LoadSample {
  config: string;
  round: number;
  route: RouteName;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** Percent of the machine other processes used during this sample (see ../measure/noise.ts). */
  otherCpuPct: number;
}

/** One start/stop of one configuration. */
export interface LifeSample {
  config: string;
  round: number;
  spawnToReadyMs: number;
  reportedReadyMs: number | null;
  stopMs: number;
  rssPrimaryMb: number | null;
  rssWorkersMb: number[];
  cpuMs: number | null;
}

const spreadOrNull = (values: (number | null)[]): Spread | null => {
  const present = values.filter((v): v is number => v !== null);
  return present.length ? spread(present) : null;
};

/** One route of one configuration, summarised over rounds. */
export interface RouteSummary {
  rps: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  errors: number;
  non2xx: number;
  /** The worst sample's share of the machine taken by other processes. */
  maxOtherCpuPct: number;
}

/** One configuration, summarised over rounds. */
export interface ConfigSummary {
  name: string;
  label: string;
  workers: number;
  routes: Partial<Record<RouteName, RouteSummary>>;
  spawnToReadyMs: Spread;
  reportedReadyMs: Spread | null;
  stopMs: Spread;
  rssPrimaryMb: Spread | null;
  /** The largest worker of each round. */
  rssWorkerMb: Spread;
  cpuMs: Spread | null;
}

/** Summarises the samples of one configuration. */
export function summarise(
  config: { name: string; label: string; workers: number },
  load: LoadSample[],
  life: LifeSample[],
): ConfigSummary {
  const mine = load.filter((s) => s.config === config.name);
  const lives = life.filter((s) => s.config === config.name);
  const routes: Partial<Record<RouteName, RouteSummary>> = {};
  for (const route of new Set(mine.map((s) => s.route))) {
    const samples = mine.filter((s) => s.route === route);
    routes[route] = {
      rps: spread(samples.map((s) => s.rps)),
      p50Ms: spread(samples.map((s) => s.p50Ms)),
      p99Ms: spread(samples.map((s) => s.p99Ms)),
      errors: samples.reduce((sum, s) => sum + s.errors, 0),
      non2xx: samples.reduce((sum, s) => sum + s.non2xx, 0),
      maxOtherCpuPct: Math.max(...samples.map((s) => s.otherCpuPct)),
    };
  }
  return {
    ...config,
    routes,
    spawnToReadyMs: spread(lives.map((s) => s.spawnToReadyMs)),
    reportedReadyMs: spreadOrNull(lives.map((s) => s.reportedReadyMs)),
    stopMs: spread(lives.map((s) => s.stopMs)),
    rssPrimaryMb: spreadOrNull(lives.map((s) => s.rssPrimaryMb)),
    rssWorkerMb: spread(lives.map((s) => Math.max(...s.rssWorkersMb))),
    cpuMs: spreadOrNull(lives.map((s) => s.cpuMs)),
  };
}

/**
 * The targets for N workers, from medians of one run (fleet ×1 / bare is measured in
 * pairs instead: see ../paired/stats.ts).
 */
export function targets(summaries: ConfigSummary[], n: number): Target[] {
  const by = (name: string) => {
    const found = summaries.find((s) => s.name === name);
    if (!found) throw new Error(`no results for ${name}`);
    return found;
  };
  const [bare, one, many, node] = [by("bare"), by("fleet-1"), by(`fleet-${n}`), by(`node-${n}`)];
  const rps = (s: ConfigSummary, route: RouteName) => s.routes[route]?.rps.median ?? Number.NaN;
  return [
    target(`fleet ×${n} / fleet ×1, CPU req/s`, rps(many, "cpu") / rps(one, "cpu"), ">=", 1.9, "×"),
    target(
      `fleet ×${n} / node ×${n}, hello req/s`,
      rps(many, "hello") / rps(node, "hello"),
      ">=",
      1.35,
      "×",
    ),
    target(
      `boot of ${n} workers to all-ready (banner)`,
      many.reportedReadyMs?.median ?? Number.NaN,
      "<=",
      80,
      "ms",
    ),
    target(`/admin/stop to all exited, ${n} workers`, many.stopMs.median, "<=", 50, "ms"),
    ...rssTargets(
      `fleet ×${n}`,
      many.rssWorkerMb.median,
      bare.rssWorkerMb.median,
      many.rssPrimaryMb?.median ?? Number.NaN,
    ),
  ];
}
