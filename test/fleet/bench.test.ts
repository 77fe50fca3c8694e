/**
 * Keeps `bun run bench` from rotting: the parser reads real wrk output, a missing wrk is
 * explained, and a `--quick --json` run measures every section (HTTP configurations, peers,
 * real-time, pub/sub cost) and leaves nothing behind.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { parseWrk } from "../../scripts/bench/measure/wrk.ts";
import type { PeersResult } from "../../scripts/bench/peers/run.ts";
import type { PubsubResult } from "../../scripts/bench/pubsub-report.ts";
import type { RealtimeResult } from "../../scripts/bench/realtime/report.ts";
import type { RunResult } from "../../scripts/bench/report.ts";
import type { BenchResult } from "../../scripts/bench/run.ts";
import { outputOf, processesWithEnv } from "../../scripts/lib/procs.ts";
import { scaled } from "../helpers/fleet.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const BENCH = resolve(ROOT, "scripts/bench.ts");
/** Every process the bench starts inherits this env entry, so we can find (and kill) leftovers. */
const MARKER_NAME = "BENCH_TEST_MARKER";
const marker = `${MARKER_NAME}=${crypto.randomUUID()}`;

let bench: Subprocess | null = null;

afterEach(() => {
  bench?.kill("SIGKILL");
  bench = null;
  for (const pid of processesWithEnv(marker)) process.kill(pid, "SIGKILL");
});

function runBench(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, BENCH, ...args], {
    cwd: ROOT,
    env: { ...process.env, [MARKER_NAME]: marker.split("=")[1] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  bench = proc;
  // The smoke run takes ~25 s on a quiet 2-core machine; a busy one stretches it, so the deadline
  // scales with the load (and the test's own timeout stays above it).
  return outputOf(proc, scaled(60_000)).then(
    ({ stdout, stderr, code }) => [stdout, stderr, code] as const,
  );
}

const WRK_OUTPUT = `Running 1s test @ http://127.0.0.1:39123/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   217.30us  311.56us   4.21ms   96.06%
    Req/Sec    45.99k    14.05k   65.44k    60.00%
  Latency Distribution
     50%  119.00us
     75%  279.00us
     90%  312.00us
     99%    1.88ms
  45798 requests in 1.00s, 5.63MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  45770.90
Transfer/sec:      5.63MB
`;

describe("bench", () => {
  test("reads requests/sec, percentiles and errors from wrk's report", () => {
    expect(parseWrk(WRK_OUTPUT)).toEqual({
      rps: 45770.9,
      requests: 45798,
      p50Ms: 0.119,
      p99Ms: 1.88,
      errors: 5,
      non2xx: 7,
      cpuUs: 0,
    });
    expect(() => parseWrk("Running 1s test\n")).toThrow("unexpected output");
  });

  test("tells how to install wrk when it is missing", async () => {
    const [, stderr, code] = await runBench(["--quick"], { PATH: "/nonexistent" });
    expect(code).toBe(2);
    expect(stderr).toContain("apt-get install wrk");
  });

  test("refuses bad options with a message naming the option, before starting anything", async () => {
    const cases: [string[], string][] = [
      [["--env", "lowercase=1"], "--env takes NAME=VALUE"],
      [["--against-env", "METRICS=0"], "--against-env sets the --against side"],
      [["--against", ".", "--against-env", "x"], "--against-env takes NAME=VALUE"],
      [["--against", "/nonexistent"], "--against /nonexistent: no scripts/start.ts there"],
      [["--pairs-only", "--pair-rounds", "0"], "--pair-rounds must be ≥ 1"],
      [["--pair-duration", "0"], "--pair-duration must be an integer ≥ 1"],
      [
        ["--pair-rounds", "7", "--pair-max-rounds", "5"],
        "--pair-max-rounds must be ≥ --pair-rounds",
      ],
    ];
    for (const [args, message] of cases) {
      const [stdout, stderr, code] = await runBench(args);
      expect({ args, code, stdout, message: stderr.includes(message) }).toEqual({
        args,
        code: 2,
        stdout: "",
        message: true,
      });
    }
  });

  test(
    "--quick --json measures every section in one run, and leaves no process behind",
    async () => {
      // one quick round can never vouch for itself (no scatter to judge), so the A/A control is
      // not trusted and the bench adds rounds: here one, up to --pair-max-rounds
      const args = ["--quick", "--json", "--workers", "2", "--pair-max-rounds", "2"];
      // peers that cannot be installed (here: pointed at missing binaries) keep their rows
      const missing = { BENCH_DENO: "/nonexistent/deno", BENCH_PM2: "/nonexistent/pm2" };
      const [stdout, stderr, code] = await runBench(args, missing);
      expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
      const run = JSON.parse(stdout) as RunResult;
      expect(run.command).toBe(`bun run bench -- ${args.join(" ")}`);
      expect([
        run.quick,
        run.machine.cores,
        Number.isNaN(Date.parse(run.machine.finishedAt)),
      ]).toEqual([true, navigator.hardwareConcurrency, false]);
      expect(run.machine.deno).toBe("not installed (BENCH_DENO=/nonexistent/deno: no such file)");
      const result = run.http as BenchResult;
      expect(result.summaries.map((s) => s.name)).toEqual(["bare", "fleet-1", "fleet-2", "node-2"]);
      for (const summary of result.summaries) {
        // Node is not loaded on the CPU route: there both runtimes run the same native hash
        const routes = summary.name.startsWith("node")
          ? ["hello", "json"]
          : ["hello", "json", "cpu"];
        expect(Object.keys(summary.routes)).toEqual(routes);
        for (const route of routes as ("hello" | "json" | "cpu")[]) {
          const measured = summary.routes[route];
          expect(measured?.rps.median ?? 0).toBeGreaterThan(0);
          expect((measured?.errors ?? 1) + (measured?.non2xx ?? 1)).toBe(0);
          expect(measured?.maxOtherCpuPct).toBeGreaterThanOrEqual(0);
        }
        expect(summary.rssWorkerMb.median).toBeGreaterThan(1);
        expect(summary.stopMs.median).toBeGreaterThan(0);
      }
      const fleet = result.summaries.find((s) => s.name === "fleet-2");
      expect(fleet?.reportedReadyMs?.median ?? 0).toBeGreaterThan(0);
      expect(fleet?.rssPrimaryMb?.median ?? 0).toBeGreaterThan(1);
      // the pairs: both sides loaded at once, servers pinned to CPU 0, each in its own session
      const paired = result.paired;
      expect(paired?.pairs.map((p) => [p.name, Object.keys(p.routes)])).toEqual([
        ["aa-bare", ["hello"]],
        ["fleet-1-vs-bare", ["hello", "json"]],
        ["fleet-1-nometrics-vs-bare", ["hello", "json"]],
      ]);
      for (const pair of paired?.pairs ?? []) {
        for (const route of Object.values(pair.routes)) {
          expect(route.ratio.median).toBeGreaterThan(0);
          expect(route.errors).toBe(0);
        }
        expect(pair.servers.map((s) => s.placement?.cpus)).toEqual(["0", "0"]);
        const [a, b] = pair.servers.map((s) => s.placement?.sid);
        expect(a).not.toBe(b);
      }
      expect(Number.isFinite(paired?.control.worst)).toBe(true);
      expect([paired?.roundsRun, paired?.control.pass]).toEqual([2, false]);
      expect(paired?.pairs[0]?.routes.hello?.ratio.n).toBe(2);
      expect(paired?.pairs[1]?.servers[1]?.primaryMb ?? 0).toBeGreaterThan(1);
      expect(result.targets).toHaveLength(10);
      expect(result.targets.filter((t) => /node/.test(t.text)).map((t) => t.text)).toEqual([
        "fleet ×2 / node ×2, hello req/s",
      ]);
      expect(result.targets.slice(0, 4).map((t) => [t.text, t.limit])).toEqual([
        ["fleet ×1 METRICS=0 / bare, hello req/s (paired)", 0.98],
        ["fleet ×1 METRICS=0 / bare, JSON req/s (paired)", 0.98],
        ["fleet ×1 (request counting) / bare, hello req/s (paired)", 0.95],
        ["fleet ×1 (request counting) / bare, JSON req/s (paired)", 0.95],
      ]);
      // the peers: every system keeps its row; the missing ones say why, the others are measured
      const peers = run.peers as PeersResult;
      expect(peers.installs.map((i) => [i.name, i.ok])).toEqual([
        ["deno", false],
        ["pm2", false],
      ]);
      expect(peers.paired?.pairs.map((p) => p.name)).toEqual([
        "aa-fleet",
        "bare-vs-fleet",
        "bun-cluster-vs-fleet",
        "node-vs-fleet",
      ]);
      expect(peers.life.map((l) => [l.system, l.rssMb > 1, l.readyMs > 0])).toEqual([
        ["fleet", true, true],
        ["bun-cluster", true, true],
        ["node", true, true],
      ]);
      // real-time and pub/sub cost ran as their scripts' quick forms
      const realtime = run.realtime as RealtimeResult;
      expect([realtime.quick, (realtime.fanout?.ratio ?? 0) > 0]).toEqual([true, true]);
      expect(realtime.latency?.cross.p99 ?? 0).toBeGreaterThan(0);
      const pubsub = run.pubsub as PubsubResult;
      expect(pubsub.rows.map((r) => [r.workers, r.delivered === r.expected])).toEqual([[2, true]]);
      expect(pubsub.check?.delivered).toBe(pubsub.check?.expected);
      // every target of every section, in one list
      expect(run.targets.map((t) => t.text.split(":")[0])).toEqual([
        ...result.targets.map((t) => t.text.split(":")[0]),
        "real-time",
        "real-time",
        "pub/sub",
      ]);
      expect(run.targets.every((t) => Number.isFinite(t.value))).toBe(true);
      expect(processesWithEnv(marker)).toEqual([]);
    },
    scaled(60_000) + 5_000,
  );
});
