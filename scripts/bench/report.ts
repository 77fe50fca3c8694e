/**
 * The human report: the paired ratios (fleet ×1 / bare, A/A control), throughput and latency of
 * the sequential rounds, lifecycle numbers, then each target PASS/MISS. Text or markdown tables.
 */
import { mb, num, table } from "./format.ts";
import { describeMachine, type Machine } from "./measure/machine.ts";
import { formatPairs } from "./paired/report.ts";
import type { BenchResult } from "./run.ts";
import { formatSequential } from "./sequential/report.ts";
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
