/**
 * Runs wrk against one URL and reads its report: requests/sec, latency percentiles (`--latency`),
 * socket errors and non-2xx answers.
 */

import { outputOf, type Processes } from "../../lib/procs.ts";
import { pinned } from "./placement.ts";

/** Printed when wrk is not on PATH. */
export const WRK_MISSING = [
  "bench: wrk not found on PATH; it is the load generator the bench drives.",
  "  Debian/Ubuntu: sudo apt-get install wrk",
  "  Fedora:        sudo dnf install wrk",
  "  macOS:         brew install wrk",
  "  from source:   https://github.com/wg/wrk (make; put ./wrk on PATH)",
].join("\n");

/** How hard to load: wrk's -t, -c and -d. */
export interface Load {
  threads: number;
  connections: number;
  durationS: number;
}

/** What one wrk run measured. */
export interface WrkResult {
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors of every kind (connect, read, write, timeout). */
  errors: number;
  non2xx: number;
  /** CPU time wrk itself used (user + system), in microseconds; 0 when parsed from text. */
  cpuUs: number;
}

const UNIT_MS: Record<string, (n: number) => number> = {
  us: (n) => n / 1000,
  ms: (n) => n,
  s: (n) => n * 1000,
  m: (n) => n * 60_000,
};

function durationMs(value: string, unit: string): number {
  const toMs = UNIT_MS[unit];
  if (toMs === undefined) throw new Error(`wrk: unknown latency unit ${unit}`);
  return toMs(Number(value));
}

function percentile(text: string, pct: string): number {
  const match = text.match(new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"));
  if (!match?.[1] || !match[2])
    throw new Error(`wrk: no ${pct}% latency line (ran without --latency?)`);
  return durationMs(match[1], match[2]);
}

/** Parses wrk's text report (run with `--latency`). */
export function parseWrk(text: string): WrkResult {
  const rps = text.match(/^Requests\/sec:\s+([\d.]+)/m);
  const requests = text.match(/^\s*(\d+) requests in /m);
  if (!rps?.[1] || !requests?.[1]) throw new Error(`wrk: unexpected output:\n${text}`);
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const errors = socket ? socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  return {
    rps: Number(rps[1]),
    requests: Number(requests[1]),
    p50Ms: percentile(text, "50"),
    p99Ms: percentile(text, "99"),
    errors,
    non2xx,
    cpuUs: 0,
  };
}

/**
 * Runs `wrk --latency` against `url` (bounded: killed 15 s after its duration); with `cpus`,
 * pinned to those CPUs.
 */
export async function runWrk(
  wrk: string,
  url: string,
  load: Load,
  processes: Processes,
  cpus?: string,
): Promise<WrkResult> {
  const cmd = [wrk, `-t${load.threads}`, `-c${load.connections}`, `-d${load.durationS}s`];
  const proc = Bun.spawn(pinned([...cmd, "--latency", url], cpus), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  processes.track(proc);
  const { stdout: out, stderr: err, code } = await outputOf(proc, (load.durationS + 15) * 1000);
  if (code !== 0) throw new Error(`wrk exited with ${code} for ${url}:\n${err || out}`);
  const cpuUs = Number(proc.resourceUsage()?.cpuTime.total ?? 0n);
  return { ...parseWrk(out), cpuUs };
}
