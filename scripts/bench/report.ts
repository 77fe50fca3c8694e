/**
 * The human report: the paired ratios (fleet ×1 / bare, A/A control), throughput and latency of
 * the sequential rounds, lifecycle numbers, then each target PASS/MISS. Text or markdown tables.
 */
import { int, mb, num, range, table } from "./format.ts";
import { describeMachine, type Machine } from "./measure/machine.ts";
import { formatPairs } from "./paired/report.ts";
import type { BenchResult } from "./run.ts";
import type { Target } from "./stats.ts";

function formatTarget(t: Target): string[] {
  const fmt = (n: number) =>
    t.unit === "×" ? `${n.toFixed(2)}×` : t.unit === "ms" ? `${num(n)} ms` : `${mb(n)} MB`;
  return [
    t.text,
    fmt(t.value),
    `${t.op === ">=" ? "≥" : "≤"} ${fmt(t.limit)}`,
    (t.pass ? "PASS" : "MISS") + (t.untrusted ? " (untrusted: A/A control failed)" : ""),
  ];
}

/** The sequential section: one configuration at a time, interleaved over rounds. */
function formatSequential(result: BenchResult, markdown: boolean): string[] {
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
    `Sequential: ${options.rounds} round(s) × ${summaries.length} configurations, one at a time on all cores, interleaved; wrk -t${threads} -c${connections} -d${durationS}s --latency on 127.0.0.1; ` +
      (options.warmupS > 0 ? `warm-up ${options.warmupS} s per route` : "no warm-up"),
    `CPU route: SHA-256 of ${int(result.cpuBytes / 1024)} KiB = ${num(cpuOf("bare"))} ms per call in Bun, ${num(cpuOf("node"))} ms in Node`,
  ];
  if (options.quick) {
    lines.push("QUICK smoke run: routes loaded concurrently for 1 s; numbers are not measurements");
  }
  const headers = ["config", "route", "req/s", "p50 ms", "p99 ms", "errors", "other CPU"];
  lines.push(
    "",
    "Throughput and latency: median (min–max) over rounds; other CPU = most of the machine any sample lost to other processes",
    table(headers, throughput, markdown),
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
      markdown,
    ),
  );
  return lines;
}

/** The whole report as text; `markdown` renders the tables as markdown (for the README). */
export function formatReport(result: BenchResult & { machine: Machine }, markdown = false): string {
  const lines = [describeMachine(result.machine)];
  if (result.paired) lines.push("", ...formatPairs(result.paired, markdown));
  if (result.summaries.length) lines.push("", ...formatSequential(result, markdown));
  lines.push(
    "",
    "Targets (paired: median of per-round ratios; others: ratios of medians within this run)",
    table(["target", "measured", "limit", "result"], result.targets.map(formatTarget), markdown),
  );
  return lines.join("\n");
}
