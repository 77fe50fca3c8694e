/**
 * The one report of a `bun run bench` run: what ran and when, the machine, then each section's
 * tables (HTTP pairs and sequential rounds, peers, real-time, pub/sub cost), then every target
 * PASS/MISS. Text, or markdown to paste (or splice with `--readme`) into scripts/bench/README.md.
 */
import { mb, num, table } from "./format.ts";
import { type Machine, reportHeader } from "./measure/machine.ts";
import { formatPairs } from "./paired/report.ts";
import { formatPeers } from "./peers/report.ts";
import type { PeersResult } from "./peers/run.ts";
import { formatPubsub, type PubsubResult } from "./pubsub-report.ts";
import { formatRealtime, type RealtimeResult } from "./realtime/report.ts";
import type { BenchResult } from "./run.ts";
import { formatSequential } from "./sequential/report.ts";
import type { Target } from "./stats.ts";

/** A section that was started and failed: the report says why instead of its tables. */
export interface Failed {
  error: string;
}

/** Everything one run measured (`--json` prints it); a section not run is absent. */
export interface RunResult {
  /** `bun run bench -- <args>` as typed. */
  command: string;
  quick: boolean;
  machine: Machine;
  http?: BenchResult;
  peers?: PeersResult | Failed;
  realtime?: RealtimeResult | Failed;
  pubsub?: PubsubResult | Failed;
  /** Every section's targets, in the order of the sections. */
  targets: Target[];
}

export const failed = (section: unknown): section is Failed =>
  typeof section === "object" && section !== null && "error" in section;

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

/** The HTTP section: the pairs, then the sequential rounds. */
export function formatHttp(result: BenchResult, markdown: boolean): string[] {
  const lines: string[] = [];
  if (result.paired) lines.push(...formatPairs(result.paired, markdown));
  if (result.summaries.length) lines.push("", ...formatSequential(result, markdown));
  return lines;
}

/**
 * In markdown every prose line is a paragraph of its own and a table starts after a blank line
 * (a table glued to the line above it loses its header row when rendered or pasted).
 */
function paragraphs(lines: string[]): string[] {
  const out: string[] = [];
  const row = (line: string | undefined) => line?.startsWith("|") === true;
  for (const line of lines) {
    const last = out[out.length - 1];
    if (last !== undefined && last !== "" && line !== "" && !(row(last) && row(line))) out.push("");
    out.push(line);
  }
  return out.filter((line, i) => !(line === "" && out[i - 1] === ""));
}

/** The whole report. */
export function formatRun(run: RunResult, markdown = false): string {
  const title = (text: string) => (markdown ? `**${text}**` : `== ${text} ==`);
  const lines = [...reportHeader(run.machine, run.command, run.quick)];
  const section = <T>(name: string, result: T | Failed | undefined, format: (r: T) => string[]) => {
    if (result === undefined) return;
    lines.push("", title(name));
    lines.push(...(failed(result) ? [`not measured: ${result.error}`] : format(result)));
  };
  section("HTTP: the fleet against bare Bun.serve and Node's cluster", run.http, (r) =>
    formatHttp(r, markdown),
  );
  section("The alternatives, side by side", run.peers, (r) => formatPeers(r, markdown));
  section("Real-time", run.realtime, (r) => formatRealtime(r, markdown));
  section("Pub/sub: what one publish costs", run.pubsub, (r) => formatPubsub(r, markdown));
  if (run.targets.length)
    lines.push(
      "",
      title("Targets"),
      "Paired: median of per-round ratios; sequential: ratios of medians within this run",
      table(["target", "measured", "limit", "result"], run.targets.map(formatTarget), markdown),
    );
  return (markdown ? paragraphs(lines) : lines).join("\n");
}
