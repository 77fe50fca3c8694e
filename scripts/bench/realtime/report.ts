/**
 * What the real-time bench measured, as one object (`--json`), as the text lines it prints alone,
 * as a markdown or text table for `bun run bench`'s report, and its targets (DESIGN: fan-out on
 * 2 workers ≥ 0.8× one process; cross-worker p99 at 10k msg/s ≤ 2 ms).
 */
import { table } from "../format.ts";
import { type Target, target } from "../stats.ts";
import type { Flood, IdleMemory } from "./memory.ts";

/** Latency percentiles of one path, in ms, over `messages` messages. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  messages: number;
}

/** Everything one real-time run measured; a section not run is absent. */
export interface RealtimeResult {
  quick: boolean;
  rate: number;
  subscribers: number;
  size: number;
  /** Messages per fan-out flood. */
  n: number;
  rounds: number;
  latency?: {
    ms: number;
    cross: Percentiles;
    same: Percentiles;
    reference: Percentiles;
    /** [cross-worker, reference] p99 per round, ms. */
    p99PerRound: [number, number][];
  };
  fanout?: {
    rounds: {
      reference: { perSecond: number; delivered: number; expected: number };
      fleet: { perSecond: number; delivered: number; expected: number };
    }[];
    /** Median of per-round fleet / reference. */
    ratio: number;
  };
  redis?: { perSecond: number; delivered: number; expected: number } | { skipped: string };
  memory?: { idle: IdleMemory; floods: Flood[] };
  durationS: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n.toFixed(2)} ms`;
const k = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : fmt(n);

/** The lines `bun run bench:realtime` prints. */
export function realtimeLines(r: RealtimeResult): string[] {
  const lines = [
    `real-time${r.quick ? " (quick)" : ""}: 2-worker fleet vs one process, ${r.subscribers} subscribers, ${r.size}-byte messages, ${fmt(r.n)} per flood`,
  ];
  if (r.latency) {
    const p = (label: string, v: Percentiles) =>
      `  ${label}: p50 ${ms(v.p50)}, p90 ${ms(v.p90)}, p99 ${ms(v.p99)} (${fmt(v.messages)} messages)`;
    const rounds = r.latency.p99PerRound.map(([f, ref]) => `${f.toFixed(1)}/${ref.toFixed(1)}`);
    lines.push(
      `latency at ${fmt(r.rate)} msg/s for ${r.latency.ms} ms`,
      p("cross-worker (client -> worker A -> worker B -> client)", r.latency.cross),
      p("same worker (client -> worker A -> client)", r.latency.same),
      p("reference, one process", r.latency.reference),
      `  p99 per round, cross-worker/reference ms: ${rounds.join(", ")}`,
      `  cross-worker p99 ${ms(r.latency.cross.p99)} (target <= 2 ms)`,
    );
  }
  if (r.fanout) {
    lines.push("fan-out, messages/s delivered (reference: one process's server.publish)");
    for (const [i, { reference: ref, fleet }] of r.fanout.rounds.entries()) {
      lines.push(
        `  round ${i + 1}: reference ${fmt(ref.perSecond)} msg/s (${fmt(ref.delivered)}/${fmt(ref.expected)}), fleet ${fmt(fleet.perSecond)} msg/s (${fmt(fleet.delivered)}/${fmt(fleet.expected)}), ratio ${(fleet.perSecond / ref.perSecond).toFixed(2)}`,
      );
    }
    lines.push(
      `  fleet / reference, median of ${r.rounds}: ${r.fanout.ratio.toFixed(2)} (target >= 0.8)`,
    );
  }
  if (r.redis) {
    lines.push(
      "skipped" in r.redis
        ? `  through Redis: skipped (${r.redis.skipped})`
        : `  through Redis (fleet x2 publishes, 8 subscribers on a second fleet x2): ${fmt(r.redis.perSecond)} msg/s (${fmt(r.redis.delivered)}/${fmt(r.redis.expected)} delivered)`,
    );
  }
  if (r.memory) {
    const { idle, floods } = r.memory;
    lines.push(
      "memory",
      `  ${fmt(idle.count)} idle WebSockets over 2 workers (${idle.split}): fleet RSS ${fmt(idle.beforeMb)} -> ${fmt(idle.afterMb)} MB, ${idle.perSocketKb.toFixed(1)} KB per socket`,
      ...floods.map(
        (f) =>
          `  flood, PUBSUB_MAX_LAG_BYTES ${f.budget}: worker 0 publishes ${fmt(f.messages)} x 1 KB while worker 1 stalls ${f.stallMs} ms: primary RSS ${fmt(f.beforeMb)} -> peak ${fmt(f.peakMb)} MB`,
      ),
    );
  }
  lines.push(`done in ${r.durationS.toFixed(1)} s`);
  return lines;
}

/** The real-time targets that this run measured. */
export function realtimeTargets(r: RealtimeResult): Target[] {
  const targets: Target[] = [];
  if (r.latency)
    targets.push(
      target(
        `real-time: cross-worker p99 at ${fmt(r.rate)} msg/s`,
        r.latency.cross.p99,
        "<=",
        2,
        "ms",
      ),
    );
  if (r.fanout)
    targets.push(
      target(
        `real-time: fan-out to ${r.subscribers} subscribers, fleet ×2 / one process`,
        r.fanout.ratio,
        ">=",
        0.8,
        "×",
      ),
    );
  return targets;
}

/** The section of `bun run bench`'s report: a table of what the real-time run measured. */
export function formatRealtime(r: RealtimeResult, markdown: boolean): string[] {
  const rows: string[][] = [];
  const lat = r.latency;
  if (lat) {
    const perRound = (i: 0 | 1) => {
      const v = lat.p99PerRound.map((p) => p[i]);
      return v.length > 1
        ? ` (per round ${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)})`
        : "";
    };
    rows.push(
      [
        `latency at ${fmt(r.rate)} msg/s, cross-worker`,
        `p50 ${ms(lat.cross.p50)}, p99 ${ms(lat.cross.p99)}${perRound(0)}`,
        `p50 ${ms(lat.reference.p50)}, p99 ${ms(lat.reference.p99)}${perRound(1)}`,
      ],
      [
        `latency at ${fmt(r.rate)} msg/s, same worker`,
        `p50 ${ms(lat.same.p50)}, p99 ${ms(lat.same.p99)}`,
        "",
      ],
    );
  }
  if (r.fanout) {
    const range = (v: number[]) => `${k(Math.min(...v))}–${k(Math.max(...v))} msg/s`;
    const fleet = r.fanout.rounds.map((x) => x.fleet.perSecond);
    const ref = r.fanout.rounds.map((x) => x.reference.perSecond);
    const ratios = r.fanout.rounds.map((x) => x.fleet.perSecond / x.reference.perSecond);
    const spreadOf =
      ratios.length > 1
        ? ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`
        : "";
    rows.push([
      `fan-out to ${r.subscribers} subscribers`,
      `${range(fleet)}; ratio median ${r.fanout.ratio.toFixed(2)}${spreadOf}`,
      range(ref),
    ]);
  }
  if (r.redis) {
    rows.push([
      "fan-out through Redis (fleet → Redis → fleet)",
      "skipped" in r.redis
        ? `skipped: ${r.redis.skipped}`
        : `${k(r.redis.perSecond)} msg/s, ${fmt(r.redis.delivered)} of ${fmt(r.redis.expected)} delivered`,
      "–",
    ]);
  }
  if (r.memory) {
    const { idle, floods } = r.memory;
    rows.push([
      `${fmt(idle.count)} idle WebSockets (fleet RSS)`,
      `${fmt(idle.beforeMb)} → ${fmt(idle.afterMb)} MB, ${idle.perSocketKb.toFixed(1)} KB per socket`,
      "",
    ]);
    rows.push([
      `primary RSS, worker 1 stalled, ${fmt(floods[0]?.messages ?? 0)} × 1 KB published`,
      floods.map((f) => `${fmt(f.beforeMb)} → ${fmt(f.peakMb)} MB (budget ${f.budget})`).join("; "),
      "",
    ]);
  }
  return [
    `Real-time (bun run bench:realtime${r.quick ? " -- --quick" : ""}, ${r.durationS.toFixed(0)} s): a 2-worker fleet and one process publishing with its own server.publish, ${r.subscribers} subscribers, ${r.size}-byte messages; ${r.rounds} interleaved round(s)`,
    table(["measure", "fleet ×2", "reference (one process)"], rows, markdown),
  ];
}
