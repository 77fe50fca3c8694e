/**
 * `bun run bench`: fleet ×1 vs bare Bun.serve measured in pairs (both loaded at once, pinned; an
 * A/A pair says whether to trust the ratios), then bare vs the fleet ×1 and ×N vs Node's cluster
 * ×N, loaded with wrk on 127.0.0.1, interleaved over rounds; prints a table (`--markdown`,
 * `--json`) with the targets. `--quick` is the smoke mode the test suite runs.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { calibrateCpuBytes } from "./bench/calibrate.ts";
import { finishMachine, startMachine } from "./bench/machine.ts";
import { otherFleets, TASKSET_MISSING } from "./bench/placement.ts";
import { Processes } from "./bench/procs.ts";
import { formatReport } from "./bench/report.ts";
import { type BenchOptions, runBench } from "./bench/run.ts";
import { buildNodeServer } from "./bench/servers.ts";
import { WRK_MISSING } from "./bench/wrk.ts";

const USAGE = `Usage: bun run bench [-- options]

  --quick                smoke run: 1 round, all routes at once for 1 s per configuration
  --json                 print one JSON object instead of the table
  --markdown             print the tables as markdown (for the README)
  --pair-rounds <n>      rounds of the paired measurement, 0 for none [default: 7]
  --pair-duration <s>    wrk -d of one paired sample [default: 3]
  --pairs-only           only the paired measurement (fleet ×1 / bare, A/A control, RSS)
  --against <dir>        also pair this checkout's fleet ×1 with the one in <dir> (another
                         checkout of this repo, e.g. a worktree of main)
  --env <NAME=VALUE>     set a setting on every fleet under test (repeatable)
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
function envEntries(raw: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of raw ?? []) {
    const match = entry.match(/^([A-Z_][A-Z0-9_]*)=(.*)$/);
    if (!match?.[1]) throw new Error(`--env takes NAME=VALUE (NAME in capitals); got ${entry}`);
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

type Options = BenchOptions & { json: boolean; markdown: boolean };

/** Parses argv into options; `null` means help was asked for. */
export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      markdown: { type: "boolean" },
      "pair-rounds": { type: "string" },
      "pair-duration": { type: "string" },
      "pairs-only": { type: "boolean" },
      against: { type: "string" },
      env: { type: "string", multiple: true },
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
  return {
    quick,
    json: values.json === true,
    markdown: values.markdown === true,
    pairRounds: positiveInt("pair-rounds", values["pair-rounds"], quick ? 1 : 7, 0),
    pairDurationS: positiveInt("pair-duration", values["pair-duration"], quick ? 1 : 3),
    pairsOnly: values["pairs-only"] === true,
    pairChoice: { against: checkout(values.against), fleetEnv: envEntries(values.env) },
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

async function main(argv: string[]): Promise<number> {
  let options: Options | null;
  try {
    options = parseOptions(argv);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  const wrk = Bun.which("wrk");
  if (!wrk) {
    console.error(WRK_MISSING);
    return 2;
  }
  if (options.pairRounds > 0 && !Bun.which("taskset")) {
    console.error(TASKSET_MISSING);
    return 2;
  }
  const node = Bun.which("node");
  if (!node) {
    console.error("bench: node not found on PATH; the Node cluster configuration needs Node ≥ 20.");
    return 2;
  }
  const processes = new Processes(crypto.randomUUID());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench: ${signal}; stopping every server it started`);
    void processes.stopAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const outdir = mkdtempSync(join(tmpdir(), "bun-fleet-bench-"));
  process.on("exit", () => {
    processes.killAllSync();
    rmSync(outdir, { recursive: true, force: true }); // also on the signal path's process.exit
  });

  const log = (line: string) => console.error(`bench: ${line}`);
  try {
    const others = otherFleets(new Set([process.pid]));
    if (others.length) {
      log(
        `${others.length} fleet process(es) not started by this bench are running; they take CPU:`,
      );
      for (const other of others.slice(0, 5)) log(`  ${other}`);
    }
    const machine = await startMachine(node);
    const cpuBytes = calibrateCpuBytes(1);
    log(`CPU route calibrated to SHA-256 of ${cpuBytes} bytes (~1 ms in Bun)`);
    const measured = await runBench(options, {
      processes,
      wrk,
      node,
      bun: process.execPath,
      nodeBundle: await buildNodeServer(outdir),
      cpuBytes,
      adminToken: `bench.${crypto.randomUUID()}`,
      bootTimeoutMs: 15_000,
      log,
    });
    const result = { machine: finishMachine(machine), ...measured };
    const text = options.json
      ? JSON.stringify(result, null, 2)
      : formatReport(result, options.markdown);
    console.log(text);
    return 0;
  } catch (error) {
    if (interrupted) return 130; // the wrk or server we were waiting on was stopped by the signal
    console.error(`bench: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    const strays = await processes.stopAll();
    if (strays.length)
      console.error(`bench: killed ${strays.length} stray process(es): ${strays.join(", ")}`);
  }
}

process.exit(await main(process.argv.slice(2)));
