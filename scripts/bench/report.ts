/** The human report: throughput and latency, lifecycle numbers, then each target PASS/MISS. */
import { describeMachine, type Machine } from "./machine.ts";
import type { BenchResult } from "./run.ts";
import type { Spread, Target } from "./stats.ts";

const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** A number with precision that fits its magnitude (`0.68`, `37.6`, `161`). */
export function num(n: number): string {
  if (!Number.isFinite(n)) return "–";
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString();
}

const mb = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");

/** `median (min–max)`, or just the median for one sample. */
const range = (s: Spread | null, fmt: (n: number) => string) =>
  !s ? "–" : s.n === 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

/** Pads columns: the first left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function formatTarget(t: Target): string[] {
  const fmt = (n: number) =>
    t.unit === "×" ? `${n.toFixed(2)}×` : t.unit === "ms" ? `${num(n)} ms` : `${mb(n)} MB`;
  return [
    t.text,
    fmt(t.value),
    `${t.op === ">=" ? "≥" : "≤"} ${fmt(t.limit)}`,
    t.pass ? "PASS" : "MISS",
  ];
}

/** The whole report as text. */
export function formatReport(result: BenchResult & { machine: Machine }): string {
  const { options, summaries } = result;
  const { threads, connections, durationS } = options.load;
  const cpuOf = (prefix: string) =>
    summaries.find((s) => s.name.startsWith(prefix))?.cpuMs?.median ?? Number.NaN;
  const throughput = summaries.flatMap((s) =>
    Object.entries(s.routes).map(([route, r]) => [
      s.label,
      route,
      range(r.rps, int),
      num(r.p50Ms.median),
      range(r.p99Ms, num),
      String(r.errors + r.non2xx),
      `${Math.round(r.maxOtherCpuPct)}%`,
    ]),
  );
  const worst = Math.max(
    ...summaries.flatMap((s) => Object.values(s.routes).map((r) => r.maxOtherCpuPct)),
  );
  const lifecycle = summaries.map((s) => [
    s.label,
    range(s.spawnToReadyMs, num),
    range(s.reportedReadyMs, num),
    range(s.stopMs, num),
    range(s.rssPrimaryMb, mb),
    range(s.rssWorkerMb, mb),
  ]);
  const lines = [
    describeMachine(result.machine),
    `${options.rounds} round(s) × ${summaries.length} configurations, interleaved; wrk -t${threads} -c${connections} -d${durationS}s --latency on 127.0.0.1; ` +
      (options.warmupS > 0 ? `warm-up ${options.warmupS} s per route` : "no warm-up"),
    `CPU route: SHA-256 of ${int(result.cpuBytes / 1024)} KiB = ${num(cpuOf("bare"))} ms per call in Bun, ${num(cpuOf("node"))} ms in Node`,
  ];
  if (options.quick) {
    lines.push("QUICK smoke run: routes loaded concurrently for 1 s; numbers are not measurements");
  }
  lines.push(
    "",
    "Throughput and latency: median (min–max) over rounds; other CPU = most of the machine any sample lost to other processes",
    table(["config", "route", "req/s", "p50 ms", "p99 ms", "errors", "other CPU"], throughput),
  );
  if (worst > 5) {
    lines.push(
      `WARNING: other processes took up to ${Math.round(worst)}% of the machine; rerun on a quiet machine`,
    );
  }
  lines.push(
    "",
    "Lifecycle: boot = spawn to ready line; banner = the fleet's own 'ready in'; stop = stop request to every process exited (idle)",
    table(
      ["config", "boot ms", "banner ms", "stop ms", "primary MB", "worker MB (max)"],
      lifecycle,
    ),
    "",
    "Targets (ratios of medians within this run)",
    table(["target", "measured", "limit", "result"], result.targets.map(formatTarget)),
  );
  return lines.join("\n");
}
