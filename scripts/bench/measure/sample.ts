/**
 * One load sample: wrk against one or more routes of a running configuration, with the share of
 * the machine other processes took meanwhile; a disturbed sample is retaken (bounded).
 */

import type { Processes } from "../../lib/procs.ts";
import { ROUTES, type RouteName } from "../servers/app.ts";
import type { Running } from "../servers/index.ts";
import { markCpu, otherCpuPercent } from "./noise.ts";
import { type Load, runWrk, type WrkResult } from "./wrk.ts";

/** A wrk result with the share of the machine other processes took meanwhile. */
export type Measured = WrkResult & { otherCpuPct: number };

/** How often a disturbed sample is taken again (the quietest one is kept). */
const RETRIES = 3;

/** What sampling needs besides the server. */
export interface SampleContext {
  wrk: string;
  processes: Processes;
  log: (line: string) => void;
  load: Load;
  /** Retake a sample when other processes took more than this percent of the machine. */
  maxOtherCpuPct: number;
}

async function once(running: Running, routes: RouteName[], ctx: SampleContext) {
  const pgid = running.group.pgid;
  const mark = markCpu(pgid);
  const results = await Promise.all(
    routes.map((r) => runWrk(ctx.wrk, running.url + ROUTES[r], ctx.load, ctx.processes)),
  );
  const wrkUs = results.reduce((sum, r) => sum + r.cpuUs, 0);
  const otherCpuPct = otherCpuPercent(mark, pgid, wrkUs);
  return results.map((r, i): [RouteName, Measured] => [
    routes[i] as RouteName,
    { ...r, otherCpuPct },
  ]);
}

/**
 * Loads `routes` of `running` at once (one wrk each) and returns what each measured; retakes
 * the window up to RETRIES times while other processes took more than `maxOtherCpuPct`.
 */
export async function sample(
  running: Running,
  routes: RouteName[],
  ctx: SampleContext,
): Promise<[RouteName, Measured][]> {
  let best = await once(running, routes, ctx);
  for (let retry = 1; retry <= RETRIES; retry++) {
    const other = best[0]?.[1].otherCpuPct ?? 0;
    if (other <= ctx.maxOtherCpuPct) break;
    ctx.log(
      `other processes took ${Math.round(other)}% during ${running.spec.label} ${routes.join("+")}; retaking`,
    );
    const next = await once(running, routes, ctx);
    if ((next[0]?.[1].otherCpuPct ?? 0) < other) best = next;
  }
  return best;
}
