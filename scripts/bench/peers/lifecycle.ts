/**
 * What each system does around the requests, with N workers on all cores, one system at a time:
 * time from start to all workers ready, RSS of the whole thing (the system's top process and
 * every descendant; Deno's jobs are threads of one process), failed requests while one worker is
 * killed under load, and while the system's own reload runs under load.
 */
import { readdirSync } from "node:fs";
import { freePort, isAlive, pollUntil, rssBytes, statFields } from "../../lib/procs.ts";
import { type Load, runWrk, type WrkResult } from "../measure/wrk.ts";
import { ROUTES } from "../servers/app.ts";
import { pm2Home, type Running, type StartContext, start, stop } from "../servers/index.ts";
import { PM2_APP, pm2Cli } from "../servers/pm2.ts";
import { checkRoutes, expectedBodies } from "../servers/verify.ts";
import { type PeerSystem, specOf } from "./systems.ts";

/** Failed requests (socket errors + non-2xx, as wrk counts them) out of those sent. */
export interface Failures {
  failed: number;
  requests: number;
  /** What happened besides: how long the reload took, whether the killed worker came back. */
  note: string;
}

/** One system's lifecycle numbers; a kill or reload that does not apply is a reason string. */
export interface LifeResult {
  system: string;
  workers: number;
  readyMs: number;
  rssMb: number;
  processes: number;
  kill: Failures | string;
  reload: Failures | string;
}

/** What the lifecycle needs. */
export type LifeContext = StartContext & { wrk: string; log: (line: string) => void };

function children(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    if (fields && Number(fields[1]) === pid && isAlive(Number(name))) found.push(Number(name));
  }
  return found;
}

/** `pid` and every live descendant. */
export function tree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i] as number));
  return all.filter(isAlive);
}

/** The system's own top process: the fleet's or cluster's primary, PM2's daemon, Deno. */
const top = (running: Running) => running.primaryPid ?? running.group.pgid;

/** Runs `during` while wrk loads hello for `durationS`; wrk's result and `during`'s. */
async function underLoad<T>(
  running: Running,
  durationS: number,
  ctx: LifeContext,
  during: () => Promise<T>,
): Promise<[WrkResult, T]> {
  const load: Load = { threads: 1, connections: 64, durationS };
  const wrk = runWrk(ctx.wrk, running.url + ROUTES.hello, load, ctx.processes);
  await Bun.sleep(1000);
  const result = await during();
  return [await wrk, result];
}

const failures = (r: WrkResult, note: string): Failures => ({
  failed: r.errors + r.non2xx,
  requests: r.requests,
  note,
});

async function killOne(running: Running, ctx: LifeContext): Promise<Failures | string> {
  const victim = running.workerPids[0];
  if (victim === undefined) return "n/a: its jobs are threads of one process";
  const [result, note] = await underLoad(running, 4, ctx, async () => {
    process.kill(victim, "SIGKILL");
    const killedAt = performance.now();
    // the victim may still be listed for a moment after SIGKILL: count the others
    const others = () => children(top(running)).filter((pid) => pid !== victim);
    const back = await pollUntil(() => others().length >= running.spec.workers, 2500, 5);
    return back
      ? `a new process ${Math.round(performance.now() - killedAt)} ms later`
      : "not replaced within 2.5 s";
  });
  return failures(result, note);
}

async function fleetReload(running: Running, ctx: LifeContext): Promise<string> {
  const admin = (path: string, init?: RequestInit) =>
    fetch(running.url + path, {
      ...init,
      headers: { authorization: `Bearer ${ctx.adminToken}` },
    });
  const started = performance.now();
  const res = await admin("/admin/reload", { method: "POST" });
  if (res.status !== 202) throw new Error(`/admin/reload answered ${res.status}`);
  let outcome = "running";
  const deadline = performance.now() + 60_000;
  while (outcome === "running" && performance.now() < deadline) {
    await Bun.sleep(50);
    const status = (await (await admin("/admin/status")).json()) as {
      fleet: { lastReload: { outcome: string } | null };
    };
    outcome = status.fleet.lastReload?.outcome ?? "running";
  }
  return `reload ${outcome} in ${((performance.now() - started) / 1000).toFixed(1)} s`;
}

async function pm2Reload(running: Running, ctx: LifeContext): Promise<string> {
  const pm2 = ctx.peers?.pm2;
  if (!pm2) throw new Error("pm2 reload: PM2 is not installed");
  const started = performance.now();
  const home = pm2Home(pm2.homes, Number(new URL(running.url).port));
  const { code, output } = await pm2Cli(pm2.cli, home, ["reload", PM2_APP]);
  if (code !== 0) throw new Error(`pm2 reload failed (${code}):\n${output}`);
  return `pm2 reload done in ${((performance.now() - started) / 1000).toFixed(1)} s`;
}

async function reload(
  system: PeerSystem,
  running: Running,
  ctx: LifeContext,
): Promise<Failures | string> {
  if (system.reload === null) return "none: it has no reload";
  const run = system.kind === "fleet" ? fleetReload : pm2Reload;
  const [result, note] = await underLoad(running, 20, ctx, () => run(running, ctx));
  return failures(result, note);
}

/** Starts `system` with `workers` workers on all cores, measures, and stops it. */
export async function measureLife(
  system: PeerSystem,
  workers: number,
  ctx: LifeContext,
  quick = false,
): Promise<LifeResult> {
  const running = await start(specOf(system, workers), freePort(), ctx);
  try {
    await checkRoutes(running, expectedBodies(ctx.cpuBytes));
    const warm: Load = { threads: 1, connections: 64, durationS: 1 };
    await runWrk(ctx.wrk, running.url + ROUTES.hello, warm, ctx.processes); // RSS after serving
    const pids = tree(top(running));
    const rssMb = pids.reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0) / 2 ** 20;
    // --quick: start, serve and RSS only; a kill or reload under load takes 5–25 s each
    const skipped = "not run (--quick)";
    const kill = quick ? skipped : await killOne(running, ctx);
    const reloaded = quick && system.reload !== null ? skipped : await reload(system, running, ctx);
    ctx.log(
      `peers ${running.spec.label}: ready ${Math.round(running.spawnToReadyMs)} ms, RSS ${rssMb.toFixed(1)} MB in ${pids.length} process(es)`,
    );
    return {
      system: system.name,
      workers,
      readyMs: running.spawnToReadyMs,
      rssMb,
      processes: pids.length,
      kill,
      reload: reloaded,
    };
  } finally {
    await stop(running, ctx).catch((error) => ctx.log(`stopping ${running.spec.label}: ${error}`));
    await ctx.processes.stop(running.group, 1000);
  }
}
