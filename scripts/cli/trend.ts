import type {
  FleetHistoryJson,
  HistorySample,
} from "../../workers/primary/observe/history-json.ts";

/** `bun run status --watch`: one line per worker, a sparkline of its requests/s (GET /admin/history). */

const BARS = "▁▂▃▄▅▆▇█";

/** One character per value, scaled to `max`; a missing value is a space. */
export function sparkline(values: (number | null)[], max: number): string {
  return values
    .map((v) => {
      if (v === null) return " ";
      if (max <= 0) return BARS[0];
      const level = Math.round((Math.min(v, max) / max) * (BARS.length - 1));
      return BARS[level];
    })
    .join("");
}

/** Requests/s of slot `index` in one sample: its processes summed (a reload overlaps two). */
function rpsOf(sample: HistorySample, index: number): number | null {
  let total: number | null = null;
  for (const w of sample.workers) {
    if (w.index === index && w.rps !== null) total = (total ?? 0) + w.rps;
  }
  return total;
}

const perS = (n: number) => `${n.toLocaleString("en", { maximumFractionDigits: 1 })}/s`;

/**
 * The last `width` samples as one sparkline per worker slot, on one shared scale (the busiest
 * second of any worker), with its latest figure; empty when there are no samples.
 */
export function trendLines(samples: HistorySample[], width: number): string {
  const shown = samples.slice(-width);
  const last = shown.at(-1);
  if (!last) return "";
  const slots = [...new Set(last.workers.map((w) => w.index))].sort((a, b) => a - b);
  const series = slots.map((i) => shown.map((s) => rpsOf(s, i)));
  const max = Math.max(0, ...series.flat().map((v) => v ?? 0));
  const seconds = Math.round((last.t - (shown[0] as HistorySample).t) / 1000) + 1;
  const head = `requests/s, last ${seconds} s (top of scale ${perS(max)}):`;
  const names = slots.map((i) => `worker ${i}`);
  const pad = Math.max(...names.map((n) => n.length));
  const lead = " ".repeat(Math.max(0, width - shown.length)); // right-aligned: now is the end
  const lines = series.map((values, k) => {
    const now = values.at(-1);
    const figure = now == null ? "-" : perS(now);
    return `${(names[k] as string).padEnd(pad)}  ${lead}${sparkline(values, max)}  ${figure}`;
  });
  return [head, ...lines].join("\n");
}

/**
 * Keeps the samples a watch needs: the first call asks for the whole history, later ones for
 * what is newer; at most `keep` are held.
 */
export class TrendWindow {
  samples: HistorySample[] = [];
  constructor(private readonly keep: number) {}

  /** `since` for the next GET /admin/history. */
  get since(): number {
    return this.samples.at(-1)?.t ?? 0;
  }

  add(history: FleetHistoryJson): void {
    this.samples = this.samples.concat(history.samples).slice(-this.keep);
  }
}
