/**
 * The configurations under test and how to start and stop each one on a fresh 127.0.0.1 port:
 * bare `Bun.serve`, the fleet through `bun run start`, Node's cluster, and the peers the
 * `--peers` bench adds (Bun's node:cluster, `deno serve --parallel`, PM2 cluster mode under Bun).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Group, isAlive, type Processes, pollUntil, statFields } from "../../lib/procs.ts";
import { assertSoleListener, pinned } from "../measure/placement.ts";
import { CPU_BYTES_ENV, RAW_ENV, type RouteName } from "./app.ts";

/** Repository root (scripts/bench/servers/../../..). */
export const ROOT = resolve(import.meta.dir, "..", "..", "..");

/** One configuration: what runs and with how many workers. */
export interface ConfigSpec {
  /** Stable key, used in `--json`: `bare`, `fleet-1`, `fleet-2`, `node-2`. */
  name: string;
  /** Human label for the table. */
  label: string;
  kind: Kind;
  workers: number;
  /** The checkout whose `bun run start` runs (fleet only); default: this one. */
  root?: string;
  /** Extra env for this configuration (e.g. a fleet setting under test). */
  env?: Record<string, string>;
  /** The routes the sequential rounds load (default: all). */
  routes?: RouteName[];
  /** Answer without Hono (app.ts `rawFetch`); bare and deno only. */
  raw?: boolean;
}

/** What runs: the fleet, the physical reference, or one of the systems users pick instead. */
export type Kind = "bare" | "fleet" | "node" | "bun-cluster" | "deno" | "pm2";

/** Where the peers installed on demand are (see ../peers/install.ts); absent: not installed. */
export interface PeerBins {
  /** The `deno` executable, the bench app bundled for it, and its DENO_DIR. */
  deno?: { bin: string; bundle: string; cache: string };
  /** PM2's CLI script, run by Bun with --bun; PM2_HOME of each start goes under `homes`. */
  pm2?: { cli: string; homes: string };
}

/** The four configurations, in the order each round runs them; `env` goes to the fleets. */
export function configs(workers: number, env: Record<string, string> = {}): ConfigSpec[] {
  return [
    { name: "bare", label: "bare Bun.serve", kind: "bare", workers: 1 },
    { name: "fleet-1", label: "fleet ×1", kind: "fleet", workers: 1, env },
    { name: `fleet-${workers}`, label: `fleet ×${workers}`, kind: "fleet", workers, env },
    {
      name: `node-${workers}`,
      label: `node cluster ×${workers}`,
      kind: "node",
      workers,
      routes: ["hello", "json"],
    },
  ];
}

/** What the bench needs to start any configuration. */
export interface StartContext {
  processes: Processes;
  bun: string;
  node: string;
  /** The node-cluster bundle (see `buildNodeServer`). */
  nodeBundle: string;
  cpuBytes: number;
  adminToken: string;
  bootTimeoutMs: number;
  /** The peers, for `--peers`. */
  peers?: PeerBins;
}

/** A configuration up and answering. */
export interface Running {
  spec: ConfigSpec;
  url: string;
  group: Group;
  /** The fleet's or cluster's primary; null for bare. */
  primaryPid: number | null;
  /** Processes that serve requests (the bare server counts as its one worker). */
  workerPids: number[];
  /** From spawn to the ready line, measured by the bench. */
  spawnToReadyMs: number;
  /** The fleet's own "ready in X ms" (primary start to all workers ready); null elsewhere. */
  reportedReadyMs: number | null;
  /** One CPU-route call in this server's runtime, as it measured itself; null if not reported. */
  cpuMs: number | null;
}

const READY: Record<Kind, RegExp> = {
  bare: /^bench-bare: ready pid (\d+) cpu ([\d.]+) ms/,
  // Not anchored: in text logs each banner line starts with a time, level and process.
  fleet: /\bprimary pid (\d+); worker pids ([\d, ]+)/,
  node: /^bench-node: ready primary (\d+) workers ([\d, ]+)/,
  "bun-cluster": /^bench-bun-cluster: ready primary (\d+) workers ([\d, ]+)/,
  // on stderr; Deno prints it once every job listens
  deno: /deno serve: Listening on http/,
  pm2: /^bench-pm2: ready daemon (\d+) workers ([\d, ]+)/,
};

const pidList = (text: string | undefined): number[] =>
  (text ?? "").split(",").map((pid) => Number(pid.trim()));

/** Bundles `node-cluster.ts` (with hono and @hono/node-server) into `outdir` for `node`. */
export async function buildNodeServer(outdir: string): Promise<string> {
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "node-cluster.ts")],
    target: "node",
    outdir,
    naming: "[name].mjs",
  });
  const output = result.outputs[0];
  if (!result.success || !output)
    throw new Error(`bundling node-cluster.ts failed: ${result.logs}`);
  return output.path;
}

function peer<K extends keyof PeerBins>(ctx: StartContext, name: K): NonNullable<PeerBins[K]> {
  const bins = ctx.peers?.[name];
  if (!bins) throw new Error(`${name} is not installed (see the peers' install lines above)`);
  return bins as NonNullable<PeerBins[K]>;
}

function command(spec: ConfigSpec, port: number, ctx: StartContext): string[] {
  switch (spec.kind) {
    case "bare":
      return [ctx.bun, join(import.meta.dir, "bare.ts")];
    case "fleet":
      return [ctx.bun, "run", "start"];
    case "node":
      return [ctx.node, ctx.nodeBundle];
    case "bun-cluster":
      return [ctx.bun, join(import.meta.dir, "bun-cluster.ts")];
    case "pm2":
      return [ctx.bun, join(import.meta.dir, "pm2.ts")];
    case "deno": {
      const { bin, bundle } = peer(ctx, "deno");
      const listen = ["--port", String(port), "--host", "127.0.0.1"];
      return [bin, "serve", "--parallel", "--allow-env", "--allow-net", ...listen, bundle];
    }
  }
}

/** The PM2_HOME of the PM2 system started on `port`: its own, so its daemon is the bench's. */
export const pm2Home = (homes: string, port: number) => join(homes, `pm2-${port}`);

/** Env only some kinds need: Deno's job count and cache, PM2's CLI and its own PM2_HOME. */
function kindEnv(spec: ConfigSpec, port: number, ctx: StartContext): Record<string, string> {
  if (spec.kind === "deno") {
    const { cache } = peer(ctx, "deno");
    return { DENO_JOBS: String(spec.workers), DENO_NO_UPDATE_CHECK: "1", DENO_DIR: cache };
  }
  if (spec.kind === "pm2") {
    const { cli, homes } = peer(ctx, "pm2");
    const home = pm2Home(homes, port);
    mkdirSync(home, { recursive: true });
    return { BENCH_PM2: cli, PM2_HOME: home };
  }
  return {};
}

/**
 * Starts `spec` on `port` and resolves once every worker is ready (bounded by bootTimeoutMs) and
 * nothing else listens on the port; with `cpus`, pinned to those CPUs (its workers inherit them).
 */
export async function start(
  spec: ConfigSpec,
  port: number,
  ctx: StartContext,
  cpus?: string,
): Promise<Running> {
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    WORKERS: String(spec.workers),
    ADMIN_TOKEN: ctx.adminToken,
    APP_MODULE: join(import.meta.dir, "app.ts"),
    HOOKS_MODULE: join(import.meta.dir, "hooks.ts"),
    SHUTDOWN_TIMEOUT_MS: "5000",
    [CPU_BYTES_ENV]: String(ctx.cpuBytes),
    ...(spec.raw ? { [RAW_ENV]: "1" } : {}),
    ...kindEnv(spec, port, ctx),
    ...spec.env,
  };
  const started = performance.now();
  const cmd = pinned(command(spec, port, ctx), cpus);
  const group = ctx.processes.spawnGroup(cmd, env, spec.root ?? ROOT);
  let match: RegExpMatchArray;
  try {
    const lines = spec.kind === "deno" ? group.stderr : group.stdout;
    match = await lines.waitFor(READY[spec.kind], ctx.bootTimeoutMs);
  } catch (error) {
    await ctx.processes.stop(group, 500);
    throw new Error(
      `${spec.label} did not start: ${(error as Error).message}\n${group.describe()}`,
    );
  }
  const spawnToReadyMs = performance.now() - started;
  try {
    // PM2's daemon and its apps live in the daemon's own process group
    const owner = spec.kind === "pm2" ? (statFields(Number(match[1]))?.[2] ?? "") : group.pgid;
    assertSoleListener(port, Number(owner), spec.label);
  } catch (error) {
    await ctx.processes.stop(group, 500);
    throw error;
  }
  const base = { spec, url: `http://127.0.0.1:${port}`, group, spawnToReadyMs };
  if (spec.kind === "bare") {
    const pid = Number(match[1]);
    return {
      ...base,
      primaryPid: null,
      workerPids: [pid],
      reportedReadyMs: null,
      cpuMs: Number(match[2]),
    };
  }
  if (spec.kind === "deno") {
    // one process; its jobs are threads
    return { ...base, primaryPid: group.pgid, workerPids: [], reportedReadyMs: null, cpuMs: null };
  }
  if (spec.kind === "bun-cluster" || spec.kind === "pm2" || spec.kind === "node") {
    const workerPids = pidList(match[2]);
    return {
      ...base,
      primaryPid: Number(match[1]),
      workerPids,
      reportedReadyMs: null,
      cpuMs: null,
    };
  }
  const readyIn = await group.stdout.waitFor(/ready in (\d+) ms/, 1000);
  return {
    ...base,
    primaryPid: Number(match[1]),
    workerPids: pidList(match[2]),
    reportedReadyMs: Number(readyIn[1]),
    cpuMs: null,
  };
}

/**
 * Stops a configuration and resolves with the ms until every one of its processes was gone:
 * the fleet through `POST /admin/stop`, the others by SIGTERM to their group.
 */
export async function stop(running: Running, ctx: StartContext): Promise<number> {
  const { group } = running;
  const pids = [group.pgid, ...running.workerPids];
  if (running.primaryPid !== null) pids.push(running.primaryPid);
  const started = performance.now();
  if (running.spec.kind === "fleet") {
    const res = await fetch(`${running.url}/admin/stop`, {
      method: "POST",
      headers: { authorization: `Bearer ${ctx.adminToken}` },
    });
    if (res.status !== 202) throw new Error(`/admin/stop answered ${res.status}, not 202`);
  } else {
    group.signal("SIGTERM");
  }
  const exited = await pollUntil(() => !pids.some(isAlive), 10_000);
  const ms = performance.now() - started;
  await ctx.processes.stop(group, 500); // reap, and make sure nothing else in the group is left
  if (!exited) throw new Error(`${running.spec.label} still running 10 s after the stop request`);
  return ms;
}
