/**
 * The configurations under test and how to start and stop each one on a fresh 127.0.0.1 port:
 * bare `Bun.serve`, the fleet through `bun run start`, and Node's cluster.
 */
import { join, resolve } from "node:path";
import { type Group, isAlive, type Processes, pollUntil } from "../../lib/procs.ts";
import { assertSoleListener, pinned } from "../measure/placement.ts";
import { CPU_BYTES_ENV } from "./app.ts";

/** Repository root (scripts/bench/servers/../../..). */
export const ROOT = resolve(import.meta.dir, "..", "..", "..");

/** One configuration: what runs and with how many workers. */
export interface ConfigSpec {
  /** Stable key, used in `--json`: `bare`, `fleet-1`, `fleet-2`, `node-2`. */
  name: string;
  /** Human label for the table. */
  label: string;
  kind: "bare" | "fleet" | "node";
  workers: number;
  /** The checkout whose `bun run start` runs (fleet only); default: this one. */
  root?: string;
  /** Extra env for this configuration (e.g. a fleet setting under test). */
  env?: Record<string, string>;
}

/** The four configurations, in the order each round runs them; `env` goes to the fleets. */
export function configs(workers: number, env: Record<string, string> = {}): ConfigSpec[] {
  return [
    { name: "bare", label: "bare Bun.serve", kind: "bare", workers: 1 },
    { name: "fleet-1", label: "fleet ×1", kind: "fleet", workers: 1, env },
    { name: `fleet-${workers}`, label: `fleet ×${workers}`, kind: "fleet", workers, env },
    { name: `node-${workers}`, label: `node cluster ×${workers}`, kind: "node", workers },
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

const READY = {
  bare: /^bench-bare: ready pid (\d+) cpu ([\d.]+) ms/,
  // Not anchored: in text logs each banner line starts with a time, level and process.
  fleet: /\bprimary pid (\d+); worker pids ([\d, ]+)/,
  node: /^bench-node: ready primary (\d+) workers ([\d, ]+) cpu ([\d.]+) ms/,
} as const;

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

function command(spec: ConfigSpec, ctx: StartContext): string[] {
  if (spec.kind === "bare") return [ctx.bun, join(import.meta.dir, "bare.ts")];
  if (spec.kind === "fleet") return [ctx.bun, "run", "start"];
  return [ctx.node, ctx.nodeBundle];
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
    ...spec.env,
  };
  const started = performance.now();
  const cmd = pinned(command(spec, ctx), cpus);
  const group = ctx.processes.spawnGroup(cmd, env, spec.root ?? ROOT);
  let match: RegExpMatchArray;
  try {
    match = await group.stdout.waitFor(READY[spec.kind], ctx.bootTimeoutMs);
  } catch (error) {
    await ctx.processes.stop(group, 500);
    throw new Error(
      `${spec.label} did not start: ${(error as Error).message}\n${group.describe()}`,
    );
  }
  const spawnToReadyMs = performance.now() - started;
  try {
    assertSoleListener(port, group.pgid, spec.label);
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
  if (spec.kind === "node") {
    const workerPids = pidList(match[2]);
    return {
      ...base,
      primaryPid: Number(match[1]),
      workerPids,
      reportedReadyMs: null,
      cpuMs: Number(match[3]),
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
