/**
 * `bun run bench`: fleet ×1 vs bare Bun.serve measured in pairs (both loaded at once, pinned; an
 * A/A pair says whether to trust the ratios), then bare vs the fleet ×1 and ×N vs Node's cluster
 * ×N, loaded with wrk on 127.0.0.1, interleaved over rounds; prints a table (`--markdown`,
 * `--json`) with the targets. `--quick` is the smoke mode the test suite runs.
 * `--peers` instead puts the alternatives side by side (see bench/peers/run.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finishMachine, startMachine } from "./bench/measure/machine.ts";
import { otherFleets, TASKSET_MISSING } from "./bench/measure/placement.ts";
import { WRK_MISSING } from "./bench/measure/wrk.ts";
import { type Options, parseOptions, USAGE } from "./bench/options.ts";
import type { LifeContext } from "./bench/peers/lifecycle.ts";
import { formatPeers } from "./bench/peers/report.ts";
import { installPeers, peerBins, runPeers } from "./bench/peers/run.ts";
import { formatReport } from "./bench/report.ts";
import { runBench } from "./bench/run.ts";
import { calibrateCpuBytes } from "./bench/servers/calibrate.ts";
import { buildNodeServer } from "./bench/servers/index.ts";
import { killPm2Daemons } from "./bench/servers/pm2.ts";
import { Processes } from "./lib/procs.ts";

/** Set once the HTTP part succeeded and a full run asks for the real-time section next. */
let realtimeNext = false;

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
    const ctx = {
      processes,
      wrk,
      node,
      bun: process.execPath,
      nodeBundle: await buildNodeServer(outdir),
      cpuBytes,
      adminToken: `bench.${crypto.randomUUID()}`,
      bootTimeoutMs: 15_000,
      log,
    };
    if (options.peers) {
      const result = { machine, ...(await peersSection(options, ctx, outdir)) };
      const done = { ...result, machine: finishMachine(machine) };
      console.log(
        options.json ? JSON.stringify(done, null, 2) : formatPeers(done, options.markdown),
      );
      return 0;
    }
    const measured = await runBench(options, ctx);
    const result = { machine: finishMachine(machine), ...measured };
    const text = options.json
      ? JSON.stringify(result, null, 2)
      : formatReport(result, options.markdown);
    console.log(text);
    realtimeNext = options.realtime;
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

/** `--peers`: installs the peers, runs them against the fleet; no PM2 daemon outlives it. */
async function peersSection(options: Options, ctx: LifeContext, outdir: string) {
  const installs = await installPeers(ctx.log);
  const peers = await peerBins(installs, outdir);
  const pairs = {
    rounds: options.pairRounds,
    maxRounds: options.pairMaxRounds,
    warmupS: options.warmupS,
    load: { ...options.load, durationS: options.pairDurationS },
    quick: options.quick,
  };
  try {
    return await runPeers({ workers: options.workers, pairs }, installs, { ...ctx, peers });
  } finally {
    if (peers.pm2) await killPm2Daemons(peers.pm2.cli, peers.pm2.homes, ctx.log);
  }
}

/** The real-time section (`bun run bench:realtime`), after the HTTP servers have stopped. */
async function realtimeSection(): Promise<number> {
  console.error("bench: real-time section (bun run bench:realtime): pub/sub, WebSocket memory");
  const script = join(import.meta.dir, "bench", "realtime", "main.ts");
  const proc = Bun.spawn([process.execPath, script], { stdio: ["ignore", "inherit", "inherit"] });
  return await proc.exited;
}

const code = await main(process.argv.slice(2));
process.exit(code === 0 && realtimeNext ? await realtimeSection() : code);
