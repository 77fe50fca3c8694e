/** `bun run bench`'s command line: usage text and argv → options (throws on bad input). */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BenchOptions } from "./run.ts";

/** The `--help` text. */
export const USAGE = `Usage: bun run bench [-- options]

A full run (about 18 minutes on 2 cores) measures, in this order: the HTTP pairs and the
sequential rounds (about 8.5 min), the peers (about 7 min), the real-time section (about 30 s)
and what a publish costs the primary (about 70 s); then prints one report: date, machine, every
table, every target PASS/MISS.

  --quick                smoke run of every section (about 40 s): 1 round, all routes at once
                         for 1 s per configuration; its numbers are not measurements
  --json                 print one JSON object:
                         {command, quick, machine, http, peers, realtime, pubsub, targets}
  --markdown             print the report as markdown (for scripts/bench/README.md)
  --readme               print the markdown report and write it into scripts/bench/README.md, between
                         <!-- bench:begin --> and <!-- bench:end --> (a full run only:
                         no --peers, --pairs-only, --no-*, --against or --env; --quick
                         is allowed and marked as a smoke run)
  --pair-rounds <n>      rounds of the paired measurement, 0 for none [default: 7]
  --pair-max-rounds <n>  while the A/A control is not trusted, add rounds up to this many
                         [default: 21; with --quick: --pair-rounds]
  --pair-duration <s>    wrk -d of one paired sample [default: 3]
  --pairs-only           only the paired measurement (fleet ×1 / bare, A/A control, RSS):
                         no sequential rounds and no other section
  --peers                only the peers section: Bun's node:cluster, deno serve --parallel,
                         PM2 cluster mode under Bun, Node's cluster, each against the fleet
                         (per core, paired), plus RSS, start to ready, failed requests during
                         a reload and a worker kill; deno and pm2 are installed on demand
                         into a cache folder (BENCH_PEERS_DIR)
  --no-peers             skip the peers section
  --no-realtime          skip the real-time section (pub/sub fan-out, latency, WebSocket
                         memory: bun run bench:realtime)
  --no-pubsub            skip the pub/sub cost section (the primary's CPU per publish with
                         2/4/8/16 workers, 16 workers at 20,000 publishes/s:
                         bun scripts/bench/pubsub-cost.ts)
  --against <dir>        also pair this checkout's fleet ×1 with the one in <dir> (another
                         checkout of this repo with its dependencies installed, e.g. a
                         worktree of main): a change to the request path, measured directly
  --env <NAME=VALUE>     set a setting on every fleet under test (repeatable)
  --against-env <NAME=VALUE>
                         set a setting on the --against side only (repeatable): with
                         --against . it pairs the fleet with itself so configured, e.g.
                         --against . --against-env METRICS=0 measures what metrics cost
  --rounds <n>           rounds of every configuration, interleaved [default: 5]
  --duration <s>         wrk -d per route and configuration [default: 5]
  --connections <n>      wrk -c [default: 64]
  --threads <n>          wrk -t [default: 1]
  --warmup <s>           wrk warm-up per route before measuring [default: 1]
  --workers <n>          N for fleet ×N and node cluster ×N [default: cores]
  --max-other-cpu <pct>  retake a sample (up to 3 times) when other processes took more than
                         this share of the machine meanwhile [default: 5; with --quick: 100]
  -h, --help             show this help`;

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name} must be an integer ≥ ${min}; got ${raw}`);
  return value;
}

/** `NAME=VALUE` pairs into env entries. */
function envEntries(raw: string[] | undefined, flag = "--env"): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of raw ?? []) {
    const match = entry.match(/^([A-Z_][A-Z0-9_]*)=(.*)$/);
    if (!match?.[1]) throw new Error(`${flag} takes NAME=VALUE (NAME in capitals); got ${entry}`);
    env[match[1]] = match[2] ?? "";
  }
  return env;
}

/** An absolute path to another checkout of this repository, or an error naming what is missing. */
function checkout(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const dir = resolve(raw);
  if (!existsSync(join(dir, "scripts", "start.ts")))
    throw new Error(`--against ${raw}: no scripts/start.ts there; give a checkout of this repo`);
  return dir;
}

/** The sections of a run; a full run has them all. */
export interface Sections {
  /** The pairs and the sequential rounds (`bun run bench -- --pairs-only`: the pairs alone). */
  http: boolean;
  /** The alternatives side by side (`--peers` alone). */
  peers: boolean;
  /** `bun run bench:realtime`, run as a subprocess. */
  realtime: boolean;
  /** `scripts/bench/pubsub-cost.ts`, run as a subprocess. */
  pubsub: boolean;
}

/** Everything the command line sets. */
export type Options = BenchOptions & {
  json: boolean;
  /** Markdown tables; also set by `readme`. */
  markdown: boolean;
  /** `--readme`: write the report into scripts/bench/README.md between the bench markers. */
  readme: boolean;
  sections: Sections;
};

/** Parses argv into options; `null` means help was asked for. */
export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      markdown: { type: "boolean" },
      "pair-rounds": { type: "string" },
      "pair-max-rounds": { type: "string" },
      "pair-duration": { type: "string" },
      "pairs-only": { type: "boolean" },
      readme: { type: "boolean" },
      peers: { type: "boolean" },
      "no-peers": { type: "boolean" },
      "no-realtime": { type: "boolean" },
      "no-pubsub": { type: "boolean" },
      against: { type: "string" },
      env: { type: "string", multiple: true },
      "against-env": { type: "string", multiple: true },
      rounds: { type: "string" },
      duration: { type: "string" },
      connections: { type: "string" },
      threads: { type: "string" },
      warmup: { type: "string" },
      workers: { type: "string" },
      "max-other-cpu": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  const quick = values.quick === true;
  const pairRounds = positiveInt("pair-rounds", values["pair-rounds"], quick ? 1 : 7, 0);
  if (pairRounds === 0 && (values["pairs-only"] || values.against !== undefined))
    throw new Error("--pairs-only and --against need the pairs: --pair-rounds must be ≥ 1");
  const peers = values.peers === true;
  if (peers && (values["pairs-only"] || values.against !== undefined))
    throw new Error(
      "--peers runs its own pairs: it does not combine with --pairs-only or --against",
    );
  if (peers && values["no-peers"]) throw new Error("--peers and --no-peers contradict each other");
  if (values.readme && values.json)
    throw new Error("--readme writes the markdown report: it does not combine with --json");
  const partial = ["peers", "pairs-only", "no-peers", "no-realtime", "no-pubsub", "against", "env"];
  const narrowed = partial.filter((name) => values[name as keyof typeof values] !== undefined);
  if (values.readme && narrowed.length)
    throw new Error(
      `--readme writes the README's figures from one full run: it does not combine with --${narrowed.join(", --")}`,
    );
  if (values["against-env"] && values.against === undefined)
    throw new Error(
      "--against-env sets the --against side: give --against too (. for this checkout)",
    );
  const maxRaw = values["pair-max-rounds"];
  const pairMaxRounds = positiveInt("pair-max-rounds", maxRaw, quick ? pairRounds : 21, 0);
  if (maxRaw !== undefined && pairMaxRounds < pairRounds)
    throw new Error(`--pair-max-rounds must be ≥ --pair-rounds (${pairRounds}); got ${maxRaw}`);
  return {
    quick,
    json: values.json === true,
    markdown: values.markdown === true || values.readme === true,
    readme: values.readme === true,
    sections: {
      http: !peers,
      peers: peers || (!values["no-peers"] && !values["pairs-only"]),
      realtime: !peers && !values["no-realtime"] && !values["pairs-only"],
      pubsub: !peers && !values["no-pubsub"] && !values["pairs-only"],
    },
    pairRounds,
    pairMaxRounds: Math.max(pairMaxRounds, pairRounds),
    pairDurationS: positiveInt("pair-duration", values["pair-duration"], quick ? 1 : 3),
    pairsOnly: values["pairs-only"] === true,
    pairChoice: {
      against: checkout(values.against),
      fleetEnv: envEntries(values.env),
      againstEnv: envEntries(values["against-env"], "--against-env"),
    },
    rounds: positiveInt("rounds", values.rounds, quick ? 1 : 5),
    workers: positiveInt("workers", values.workers, navigator.hardwareConcurrency),
    warmupS: positiveInt("warmup", values.warmup, quick ? 0 : 1, 0),
    maxOtherCpuPct: positiveInt("max-other-cpu", values["max-other-cpu"], quick ? 100 : 5, 0),
    load: {
      threads: positiveInt("threads", values.threads, 1),
      connections: positiveInt("connections", values.connections, quick ? 16 : 64),
      durationS: positiveInt("duration", values.duration, quick ? 1 : 5),
    },
  };
}

/**
 * `--name <whole number ≥ 1>` from `args`, or `fallback` when absent; throws naming the option
 * otherwise (the section scripts' own flags: bench:db, bench:jobs).
 */
export function wholeNumberFlag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const value = i === -1 ? fallback : Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a whole number`);
  return value;
}
