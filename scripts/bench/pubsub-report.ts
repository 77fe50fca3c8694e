/**
 * What `scripts/bench/pubsub-cost.ts` measured, as one object (`--json`), as the lines it prints
 * alone, as a table for `bun run bench`'s report, and its target: the high-rate check delivers
 * every message.
 */
import { int, table } from "./format.ts";
import { type Target, target } from "./stats.ts";

/** One fleet size: CPU per publish (µs, idle rate subtracted) and what was delivered. */
export interface PubsubRow {
  workers: number;
  rate: number;
  /** Workers with a subscriber. */
  listening: number;
  sent: number;
  delivered: number;
  expected: number;
  primaryUs: number;
  workersUs: number;
}

/** Everything one pub/sub cost run measured. */
export interface PubsubResult {
  quick: boolean;
  rate: number;
  seconds: number;
  /** 0: a subscriber on every worker. */
  subscribed: number;
  redis: boolean;
  /** /proc/loadavg's three averages at the start. */
  loadAverage: string;
  rows: PubsubRow[];
  /** The high-rate check (16 workers, 20,000/s, subscribers on 2), or null when skipped. */
  check: PubsubRow | null;
  durationS: number;
}

/** Least squares of the primary's µs/publish against workers, extrapolated to 64 workers. */
export function fit(rows: PubsubRow[]): { a: number; b: number; at64: number } | null {
  if (rows.length < 2) return null;
  const n = rows.length;
  const mx = rows.reduce((s, r) => s + r.workers, 0) / n;
  const my = rows.reduce((s, r) => s + r.primaryUs, 0) / n;
  const b =
    rows.reduce((s, r) => s + (r.workers - mx) * (r.primaryUs - my), 0) /
    rows.reduce((s, r) => s + (r.workers - mx) ** 2, 0);
  const a = my - b * mx;
  return { a, b, at64: a + b * 64 };
}

const us = (n: number) => n.toFixed(1);

/**
 * The fit in words, with the 64-worker ceiling it implies. A slope at or below 0 (CPU per publish
 * no larger with more workers, within the idle rate's noise) sets no ceiling.
 */
export function fitSentence(rows: PubsubRow[]): string | null {
  const line = fit(rows);
  if (!line) return null;
  const sign = line.b < 0 ? "-" : "+";
  const formula = `${line.a.toFixed(1)} ${sign} ${Math.abs(line.b).toFixed(2)} µs per worker`;
  if (line.b <= 0 || line.at64 <= 0) {
    return `Least-squares fit of the primary's cost: ${formula}: it does not grow with workers, so at 64 workers the primary sets no ceiling on publishes/s (the workers' CPU does)`;
  }
  return `Least-squares fit of the primary's cost: ${formula}; at 64 workers ${line.at64.toFixed(1)} µs per publish, a ceiling of ${int(1e6 / line.at64)} publishes/s for the whole fleet`;
}

/** Said under a table with a value below 0: what such a value means. */
const BELOW_IDLE =
  "A value below 0: the loaded window used less of the primary's CPU than its idle rate predicted, i.e. the publishes cost it nothing measurable.";
const delivered = (r: PubsubRow) =>
  `${int(r.delivered)}/${int(r.expected)}${r.delivered === r.expected ? "" : " (MISMATCH)"}`;

/** The lines `bun scripts/bench/pubsub-cost.ts` prints. */
export function pubsubLines(r: PubsubResult): string[] {
  const lines = [
    `pub/sub cost${r.quick ? " (quick)" : ""}: ${int(r.rate)} publishes/s for ${r.seconds} s, one socket per worker${r.redis ? ", PUBSUB_URL (Redis)" : ""}, ${r.subscribed > 0 ? `subscribers on ${r.subscribed} worker(s)` : "each subscribed"}; load average ${r.loadAverage}`,
    "workers  sent     delivered/expected   primary us/publish   workers us/publish (sum)",
  ];
  const row = (x: PubsubRow) =>
    `${String(x.workers).padStart(7)}  ${String(x.sent).padEnd(7)}  ${delivered(x).padEnd(19)}  ${us(x.primaryUs).padStart(18)}   ${us(x.workersUs).padStart(22)}`;
  lines.push(...r.rows.map(row));
  const sentence = fitSentence(r.rows);
  if (sentence) lines.push(sentence);
  if (r.rows.some((x) => x.primaryUs < 0)) lines.push(BELOW_IDLE);
  if (r.check)
    lines.push(
      `check: ${r.check.workers} workers at ${int(r.check.rate)} publishes/s, subscribers on ${r.check.listening}:`,
      row(r.check),
    );
  return lines;
}

/** The check's target: every message delivered (delivered / expected ≥ 1). */
export function pubsubTargets(r: PubsubResult): Target[] {
  if (!r.check) return [];
  const c = r.check;
  return [
    target(
      `pub/sub: ${c.workers} workers at ${int(c.rate)} publishes/s, delivered / expected`,
      c.expected > 0 ? c.delivered / c.expected : Number.NaN,
      ">=",
      1,
      "×",
    ),
  ];
}

/** The section of `bun run bench`'s report. */
export function formatPubsub(r: PubsubResult, markdown: boolean): string[] {
  const rows = [...r.rows, ...(r.check ? [r.check] : [])].map((x) => [
    String(x.workers),
    int(x.rate),
    x.listening === x.workers ? "every worker" : String(x.listening),
    delivered(x),
    us(x.primaryUs),
    us(x.workersUs),
  ]);
  const all = [...r.rows, ...(r.check ? [r.check] : [])];
  const lines = [
    `Pub/sub, what one publish costs (scripts/bench/pubsub-cost.ts${r.quick ? " --quick" : ""}, ${r.durationS.toFixed(0)} s): CPU time from /proc around an idle and a loaded window of ${r.seconds} s, idle rate subtracted; µs of CPU per publish${r.redis ? "; PUBSUB_URL (Redis)" : ""}`,
    table(
      [
        "workers",
        "publishes/s",
        "subscribed workers",
        "delivered / expected",
        "primary µs/publish",
        "workers µs/publish (sum)",
      ],
      rows,
      markdown,
    ),
  ];
  const sentence = fitSentence(r.rows);
  if (sentence) lines.push("", sentence);
  if (all.some((x) => x.primaryUs < 0)) lines.push("", BELOW_IDLE);
  return lines;
}
