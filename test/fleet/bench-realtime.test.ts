/**
 * Keeps `bun run bench:realtime` from rotting: a `--quick` run measures every section with real
 * numbers and leaves no process behind. Not a timed test: the numbers are only checked to exist.
 */
import { afterEach, expect, test } from "bun:test";
import { resolve } from "node:path";
import { outputOf, processesWithEnv } from "../../scripts/lib/procs.ts";
import { scaled } from "../helpers/fleet.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const MARKER_NAME = "BENCH_REALTIME_TEST_MARKER";
const marker = `${MARKER_NAME}=${crypto.randomUUID()}`;

afterEach(() => {
  for (const pid of processesWithEnv(marker)) process.kill(pid, "SIGKILL");
});

const number = (text: string, pattern: RegExp) =>
  Number(pattern.exec(text)?.[1]?.replace(/,/g, ""));

test(
  "bench:realtime --quick reports fan-out, latency and memory, and leaves nothing running",
  async () => {
    const proc = Bun.spawn([process.execPath, "scripts/bench/realtime/main.ts", "--quick"], {
      cwd: ROOT,
      env: { ...process.env, [MARKER_NAME]: marker.split("=")[1] ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const { code, stdout: out, stderr: err } = await outputOf(proc, scaled(15_000));
    expect(code, err).toBe(0);
    expect(number(out, /fleet ([\d,]+) msg\/s \(40,000\/40,000\)/)).toBeGreaterThan(0);
    expect(number(out, /fleet \/ reference, median of 1: ([\d.]+)/)).toBeGreaterThan(0);
    expect(number(out, /cross-worker p99 ([\d.]+) ms/)).toBeGreaterThan(0);
    expect(number(out, /([\d.]+) KB per socket/)).toBeGreaterThan(0);
    expect(processesWithEnv(marker)).toEqual([]);
  },
  scaled(15_000) + 5_000,
);
