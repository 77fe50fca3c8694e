/**
 * `bun run bench`: every figure of scripts/bench/README.md, in one run, in one report.
 * Sections, in order: HTTP (fleet ×1 vs bare Bun.serve measured in pairs, both loaded at once
 * and pinned, an A/A pair saying whether to trust the ratios; then bare vs the fleet ×1 and ×N
 * vs Node's cluster ×N, interleaved over rounds), the peers (the alternatives side by side:
 * bench/peers/run.ts), the real-time section (bench/realtime/main.ts) and what a publish costs
 * the primary (bench/pubsub-cost.ts), both run as subprocesses with `--json`. Load goes to
 * 127.0.0.1 only. The report starts with the date and the machine and ends with every target;
 * `--markdown`, `--json`, `--readme` (splices it into scripts/bench/README.md). `--quick` is the smoke mode
 * the test suite runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { finishMachine, type Machine, startMachine } from "./bench/measure/machine.ts";
import { otherFleets, TASKSET_MISSING } from "./bench/measure/placement.ts";
import { WRK_MISSING } from "./bench/measure/wrk.ts";
import { type Options, parseOptions, USAGE } from "./bench/options.ts";
import type { LifeContext } from "./bench/peers/lifecycle.ts";
import { installPeers, peerBins, runPeers } from "./bench/peers/run.ts";
import { type PubsubResult, pubsubTargets } from "./bench/pubsub-report.ts";
import { BENCH_README, writeReadme } from "./bench/readme.ts";
import { type RealtimeResult, realtimeTargets } from "./bench/realtime/report.ts";
import { type Failed, failed, formatRun, type RunResult } from "./bench/report.ts";
import { runBench } from "./bench/run.ts";
import { calibrateCpuBytes } from "./bench/servers/calibrate.ts";
import { buildNodeServer } from "./bench/servers/index.ts";
import { killPm2Daemons } from "./bench/servers/pm2.ts";
import { Processes } from "./lib/procs.ts";

/** The section script running now (real-time or pub/sub), to stop on a signal. */
let child: Subprocess | null = null;

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
    // a section script stops its own servers on SIGINT: wait for it (5 s at most) before exiting,
    // since the exit handler below kills what is left of it
    const section = child;
    section?.kill("SIGINT");
    const sectionDone = section ? Promise.race([section.exited, Bun.sleep(5000)]) : null;
    void Promise.all([processes.stopAll(), sectionDone]).finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const outdir = mkdtempSync(join(tmpdir(), "bun-fleet-bench-"));
  process.on("exit", () => {
    processes.killAllSync();
    child?.kill("SIGKILL");
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
    const { sections, quick } = options;
    const command = ["bun run bench", ...(argv.length ? ["--", ...argv] : [])].join(" ");
    const run: RunResult = { command, quick, machine, targets: [] };
    if (sections.http) {
      run.http = await runBench(options, ctx);
      run.targets.push(...run.http.targets);
    }
    if (sections.peers) run.peers = await peersSection(options, ctx, outdir, machine);
    const flags = quick ? ["--quick", "--json"] : ["--json"];
    if (sections.realtime) {
      log("real-time section (bun run bench:realtime): pub/sub, WebSocket memory");
      const realtime = await scriptSection<RealtimeResult>("realtime/main.ts", flags, log);
      run.realtime = realtime;
      if (!failed(realtime)) run.targets.push(...realtimeTargets(realtime));
    }
    if (sections.pubsub) {
      log("pub/sub section (scripts/bench/pubsub-cost.ts): the primary's CPU per publish");
      const pubsub = await scriptSection<PubsubResult>("pubsub-cost.ts", flags, log);
      run.pubsub = pubsub;
      if (!failed(pubsub)) run.targets.push(...pubsubTargets(pubsub));
    }
    run.machine = finishMachine(machine);
    const text = options.json ? JSON.stringify(run, null, 2) : formatRun(run, options.markdown);
    console.log(text);
    if (options.readme) {
      writeReadme(BENCH_README, text);
      log(
        "scripts/bench/README.md: the block between <!-- bench:begin --> and <!-- bench:end --> rewritten",
      );
    }
    const broken = [run.peers, run.realtime, run.pubsub].filter(failed);
    return broken.length ? 1 : 0;
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

/** The peers: installs them, runs them against the fleet; no PM2 daemon outlives it. */
async function peersSection(options: Options, ctx: LifeContext, outdir: string, machine: Machine) {
  const installs = await installPeers(ctx.log);
  for (const install of installs)
    machine[install.name] = install.ok
      ? install.version
      : `not installed (${install.reason.split("\n")[0]})`;
  const peers = await peerBins(installs, outdir);
  const pairs = {
    rounds: options.pairRounds,
    // a smoke run does not add rounds for the A/A control here: it cannot vouch for itself
    maxRounds: options.quick ? options.pairRounds : options.pairMaxRounds,
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

/**
 * Runs `bench/<script>` with `args` (its own servers, stopped when it exits) and reads the one
 * JSON object it prints last; a failure becomes the section's error, and the run goes on.
 */
async function scriptSection<T>(
  script: string,
  args: string[],
  log: (line: string) => void,
): Promise<T | Failed> {
  const path = join(import.meta.dir, "bench", script);
  const proc = Bun.spawn([process.execPath, path, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  child = proc;
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  child = null;
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    if (code !== 0) throw new Error(`exited with ${code}`);
    return JSON.parse(last) as T;
  } catch (error) {
    const message = `scripts/bench/${script} ${args.join(" ")}: ${(error as Error).message}`;
    log(message);
    return { error: message };
  }
}

process.exit(await main(process.argv.slice(2)));
