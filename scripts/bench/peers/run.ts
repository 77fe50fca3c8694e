/**
 * `bun run bench -- --peers`: installs the peers on demand (install.ts), then measures
 *  1. per core, paired and pinned (../paired/pairs.ts): every system with one worker against the
 *     fleet ×1, with the A/A control (fleet ×1 against itself), and two pairs that explain Deno's
 *     number: deno ×1 against bare Bun.serve, with Hono and without it (raw);
 *  2. on all cores, one system at a time (lifecycle.ts): start to ready, RSS, failed requests
 *     during a worker kill and during the system's own reload.
 * A peer that could not be installed keeps its row, with the reason.
 */
import { join } from "node:path";
import { type PairResult, runPairs } from "../paired/pairs.ts";
import type { PairSpec } from "../paired/specs.ts";
import type { ConfigSpec, PeerBins } from "../servers/index.ts";
import { installPeer, type PeerInstall, type PeerName, peersDir } from "./install.ts";
import { type LifeContext, type LifeResult, measureLife } from "./lifecycle.ts";
import { SYSTEMS, specOf } from "./systems.ts";

/** How the peers bench runs (the paired options are the bench's). */
export interface PeersOptions {
  workers: number;
  pairs: {
    rounds: number;
    maxRounds: number;
    warmupS: number;
    load: { threads: number; connections: number; durationS: number };
    quick: boolean;
  };
}

/** Everything `--peers` measured. */
export interface PeersResult {
  workers: number;
  installs: PeerInstall[];
  paired: PairResult | null;
  life: LifeResult[];
  /** Systems whose lifecycle could not be measured, with the error. */
  lifeErrors: Record<string, string>;
}

/** Installs every peer (never throws; failures come back as such). */
export async function installPeers(log: (line: string) => void): Promise<PeerInstall[]> {
  const names: PeerName[] = ["deno", "pm2"];
  const installs: PeerInstall[] = [];
  for (const name of names) {
    const install = await installPeer(name, process.env, log);
    log(
      install.ok
        ? `${name} ${install.version} (${install.from}): ${install.path}`
        : `${name} NOT installed: ${install.reason}`,
    );
    installs.push(install);
  }
  return installs;
}

/** Where the installed peers are, as the servers' start needs it; the deno bundle goes to `outdir`. */
export async function peerBins(installs: PeerInstall[], outdir: string): Promise<PeerBins> {
  const bins: PeerBins = {};
  for (const install of installs) {
    if (!install.ok) continue;
    if (install.name === "pm2") bins.pm2 = { cli: install.path, homes: outdir };
    if (install.name === "deno") {
      const result = await Bun.build({
        entrypoints: [join(import.meta.dir, "..", "servers", "deno-entry.ts")],
        target: "node",
        outdir,
        naming: "[name].mjs",
      });
      const bundle = result.outputs[0]?.path;
      if (!result.success || !bundle) throw new Error(`bundling deno-entry.ts: ${result.logs}`);
      bins.deno = { bin: install.path, bundle, cache: join(peersDir(), "deno-dir") };
    }
  }
  return bins;
}

/** The pairs: A/A (fleet / fleet), each system ×1 / fleet ×1, and Deno against bare Bun. */
export function peerPairs(installed: Set<PeerName>): PairSpec[] {
  const fleet = (name: string, label = "fleet ×1"): ConfigSpec => ({
    name,
    label,
    kind: "fleet",
    workers: 1,
  });
  const bare = (raw: boolean): ConfigSpec => ({
    name: raw ? "bare-raw" : "bare",
    label: raw ? "bare Bun.serve, no Hono" : "bare Bun.serve",
    kind: "bare",
    workers: 1,
    raw,
  });
  const pairs: PairSpec[] = [
    {
      name: "aa-fleet",
      label: "A/A: fleet ×1 / fleet ×1",
      control: true,
      a: fleet("fleet-aa-a", "fleet ×1 (A)"),
      b: fleet("fleet-aa-b", "fleet ×1 (B)"),
      routes: ["hello"],
    },
    {
      name: "bare-vs-fleet",
      label: "bare Bun.serve / fleet ×1",
      control: false,
      a: fleet("fleet-for-bare"),
      b: bare(false),
      routes: ["hello", "json"],
    },
  ];
  for (const system of SYSTEMS) {
    if (system.kind === "fleet") continue;
    if (system.needs && !installed.has(system.needs)) continue;
    pairs.push({
      name: `${system.name}-vs-fleet`,
      label: `${system.label} ×1 / fleet ×1`,
      control: false,
      a: fleet(`fleet-for-${system.name}`),
      b: specOf(system, 1),
      routes: ["hello", "json"],
    });
  }
  if (installed.has("deno")) {
    const deno = SYSTEMS.find((s) => s.kind === "deno");
    if (deno) {
      pairs.push(
        {
          name: "deno-vs-bare",
          label: "deno ×1 / bare Bun.serve (both Hono)",
          control: false,
          a: bare(false),
          b: specOf(deno, 1, "-hono"),
          routes: ["hello", "json"],
        },
        {
          name: "deno-raw-vs-bare-raw",
          label: "deno ×1 / bare Bun.serve (both without Hono)",
          control: false,
          a: bare(true),
          b: { ...specOf(deno, 1, "-raw"), raw: true },
          routes: ["hello", "json"],
        },
      );
    }
  }
  return pairs;
}

/** Runs the whole peers bench. */
export async function runPeers(
  options: PeersOptions,
  installs: PeerInstall[],
  ctx: LifeContext,
): Promise<PeersResult> {
  const installed = new Set(installs.filter((i) => i.ok).map((i) => i.name));
  const paired =
    options.pairs.rounds > 0 ? await runPairs(peerPairs(installed), options.pairs, ctx) : null;
  const life: LifeResult[] = [];
  const lifeErrors: Record<string, string> = {};
  for (const system of SYSTEMS) {
    if (system.needs && !installed.has(system.needs)) continue;
    try {
      life.push(await measureLife(system, options.workers, ctx, options.pairs.quick));
    } catch (error) {
      lifeErrors[system.name] = (error as Error).message.split("\n")[0] ?? String(error);
      ctx.log(`peers ${system.label}: ${(error as Error).message}`);
    }
  }
  return { workers: options.workers, installs, paired, life, lifeErrors };
}
