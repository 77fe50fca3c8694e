import { DURATION_BUCKETS } from "../../snapshot.ts";
import { EventMarks } from "./history-events.ts";
import type {
  FleetHistoryJson,
  HistoryExtra,
  HistorySample,
  HistoryWorker,
} from "./history-json.ts";
import type { FleetView, Sample } from "./sample.ts";

/**
 * The fleet's recent past for `GET /admin/history` and the dashboard's charts: one sample a
 * second, made from the snapshots the primary already asks every process for (the collector's
 * round: no new work on any request path), kept in a fixed ring of typed arrays. Rates are
 * differences of each process's counters between two samples; latency quantiles are estimated
 * from the request-duration histogram's buckets, as Prometheus's `histogram_quantile` does.
 */

/** Samples kept: 15 minutes at one a second. */
export const HISTORY_CAPACITY = 900;

/** Fixed fields of a sample, as float64 (epoch ms and byte counts need the range). */
const HEAD = 10;
/**
 * Fields per process, as float32 (exact for pids; RSS to within 256 bytes under 4 GiB): kind
 * (0 an HTTP worker, k the extra named by id k - 1), index, pid, rps, RSS, WebSockets.
 */
const PER_PROCESS = 6;

/** A process's counters at the previous sample. */
interface Previous {
  at: number;
  requests: number;
  buckets: number[];
}

const nan = (value: number | null | undefined) => (value == null ? Number.NaN : value);
const orNull = (value: number) => (Number.isNaN(value) ? null : value);
const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * The `q` quantile (0-1) in milliseconds of a duration histogram (per-bucket counts, not
 * cumulative: DURATION_BUCKETS then +Inf), interpolated linearly inside its bucket; null when
 * the histogram is empty. A quantile in +Inf is reported as the last finite bound.
 */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  // Plain loops here and in `record`: in a fresh Bun 1.4.5 process the first Array#reduce with a
  // callback cost 2.3 MB of RSS (measured), a for loop nothing measurable.
  let total = 0;
  for (const n of buckets) total += n;
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] as number;
    if (n > 0 && below + n >= rank) {
      const lower = i === 0 ? 0 : (DURATION_BUCKETS[i - 1] as number);
      if (i >= DURATION_BUCKETS.length) return round2(lower * 1000);
      const upper = DURATION_BUCKETS[i] as number;
      return round2((lower + (upper - lower) * ((rank - below) / n)) * 1000);
    }
    below += n;
  }
  return round2((DURATION_BUCKETS.at(-1) as number) * 1000);
}

/** The primary's ring of samples and markers. */
export class FleetHistory {
  readonly #head: Float64Array;
  readonly #processes: (Float32Array | undefined)[];
  #next = 0;
  #size = 0;
  readonly #events = new EventMarks();
  /** Extras' names, interned (bounded by the hooks module's declaration). */
  readonly #extraNames: string[] = [];
  #previous = new Map<object, Previous>();
  /** Each sample's app counter rates (the hooks' `stats`, `*_total`), beside the head ring. */
  readonly #app: (Record<string, number> | undefined)[];
  /** Each HTTP worker's app counters at the previous sample. */
  #previousApp = new Map<object, { at: number; values: Record<string, number> }>();
  #previousAt: number | null = null;
  #previousPubsub = { published: 0, relayed: 0 };

  constructor(
    readonly capacity = HISTORY_CAPACITY,
    readonly intervalMs = 1000,
  ) {
    this.#head = new Float64Array(capacity * HEAD);
    this.#processes = new Array(capacity);
    this.#app = new Array(capacity);
  }

  /** Samples held now. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the samples' arrays (the fixed head ring plus each sample's processes). */
  get bytes(): number {
    let bytes = this.#head.byteLength;
    for (const processes of this.#processes) bytes += processes?.byteLength ?? 0;
    return bytes;
  }

  /**
   * Adds the sample made of `samples` (the processes' snapshots), `view` and the primary's own
   * resident memory at `now`.
   */
  record(
    view: FleetView,
    samples: Sample[],
    now = Date.now(),
    primaryRssBytes = process.memoryUsage.rss(),
  ): void {
    const previous = new Map<object, Previous>();
    const fleetBuckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
    const processes = new Float32Array(samples.length * PER_PROCESS);
    let rps = Number.NaN;
    let rss = primaryRssBytes;
    let websockets = 0;
    let sseStreams = 0;
    for (let i = 0; i < samples.length; i++) {
      const { worker, snapshot } = samples[i] as Sample;
      const extra = worker.init.extra;
      let rate = Number.NaN;
      if (snapshot?.metered && !extra) {
        const before = this.#previous.get(worker) ?? {
          at: worker.startedAt,
          requests: 0,
          buckets: [],
        };
        const seconds = Math.max(0.001, (now - before.at) / 1000);
        rate = Math.max(0, snapshot.requests - before.requests) / seconds;
        for (let b = 0; b < snapshot.buckets.length; b++) {
          const n = (snapshot.buckets[b] as number) - (before.buckets[b] ?? 0);
          fleetBuckets[b] = (fleetBuckets[b] as number) + Math.max(0, n);
        }
        previous.set(worker, { at: now, requests: snapshot.requests, buckets: snapshot.buckets });
        rps = (Number.isNaN(rps) ? 0 : rps) + rate;
      } else {
        const kept = this.#previous.get(worker);
        if (kept) previous.set(worker, kept); // no answer this time: keep its baseline
      }
      if (snapshot) {
        rss += snapshot.rss;
        if (!extra) websockets += snapshot.websockets;
        if (!extra) sseStreams += snapshot.sseStreams;
      }
      processes.set(
        [
          extra ? this.#extraId(extra.name) + 1 : 0,
          worker.index,
          worker.pid,
          rate,
          nan(snapshot?.rss),
          extra ? Number.NaN : nan(snapshot?.websockets),
        ],
        i * PER_PROCESS,
      );
    }
    this.#previous = previous;
    const app = this.#appRates(samples, now);
    const { hub } = view.pubsub;
    const published = hub.published + hub.remote;
    const seconds = this.#previousAt === null ? 0 : (now - this.#previousAt) / 1000;
    const perS = (value: number, before: number) =>
      seconds > 0 ? Math.max(0, value - before) / seconds : 0;
    const head = [
      now,
      rps,
      nan(quantileMs(fleetBuckets, 0.5)),
      nan(quantileMs(fleetBuckets, 0.99)),
      rss,
      websockets,
      perS(published, this.#previousPubsub.published),
      perS(hub.relayed, this.#previousPubsub.relayed),
      primaryRssBytes,
      sseStreams,
    ];
    this.#previousPubsub = { published, relayed: hub.relayed };
    this.#previousAt = now;
    this.#head.set(head, this.#next * HEAD);
    this.#processes[this.#next] = processes;
    this.#app[this.#next] = app;
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.capacity, this.#size + 1);
    this.#events.update(view, now);
  }

  /** The samples and markers after `since` (epoch ms), oldest first. */
  json(since = 0): FleetHistoryJson {
    const samples: HistorySample[] = [];
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let k = 0; k < this.#size; k++) {
      const slot = (start + k) % this.capacity;
      const h = this.#head.subarray(slot * HEAD, slot * HEAD + HEAD);
      if ((h[0] as number) <= since) continue;
      samples.push(this.#sample(h, this.#processes[slot] as Float32Array, this.#app[slot]));
    }
    const oldest = this.#size ? (this.#head[start * HEAD] as number) : Number.POSITIVE_INFINITY;
    const events = this.#events.list.filter((e) => e.t > since && e.t >= oldest);
    return { intervalMs: this.intervalMs, capacity: this.capacity, samples, events };
  }

  /**
   * Per-second rates of the app's counters (numbers of the hooks' `stats` whose name ends in
   * `_total`, e.g. the template's database queries and errors), summed over the HTTP workers that
   * answered; undefined when no worker reports any. A worker seen for the first time counts from
   * zero at its start, as requests do.
   */
  #appRates(samples: Sample[], now: number): Record<string, number> | undefined {
    const previous = new Map<object, { at: number; values: Record<string, number> }>();
    let rates: Record<string, number> | undefined;
    for (const { worker, snapshot } of samples) {
      if (worker.init.extra) continue;
      const before = this.#previousApp.get(worker);
      if (!snapshot?.app) {
        if (before) previous.set(worker, before);
        continue;
      }
      const values: Record<string, number> = {};
      const seconds = Math.max(0.001, (now - (before?.at ?? worker.startedAt)) / 1000);
      for (const [name, value] of Object.entries(snapshot.app)) {
        if (typeof value !== "number" || !name.endsWith("_total")) continue;
        values[name] = value;
        rates ??= {};
        const delta = Math.max(0, value - (before?.values[name] ?? 0));
        rates[name] = (rates[name] ?? 0) + delta / seconds;
      }
      previous.set(worker, { at: now, values });
    }
    this.#previousApp = previous;
    return rates;
  }

  #sample(
    h: Float64Array,
    processes: Float32Array,
    appRates: Record<string, number> | undefined,
  ): HistorySample {
    const workers: HistoryWorker[] = [];
    const extras: HistoryExtra[] = [];
    for (let p = 0; p < processes.length; p += PER_PROCESS) {
      const [kind, index, pid, rate, rss, ws] = processes.subarray(p, p + PER_PROCESS);
      const rssBytes = orNull(rss as number);
      if (kind === 0) {
        const rps = orNull(rate as number);
        workers.push({
          index: index as number,
          pid: pid as number,
          rps: rps === null ? null : round2(rps),
          rssBytes,
          websockets: orNull(ws as number),
        });
      } else {
        const name = this.#extraNames[(kind as number) - 1] ?? "?";
        extras.push({ name, index: index as number, pid: pid as number, rssBytes });
      }
    }
    const rps = orNull(h[1] as number);
    return {
      t: h[0] as number,
      rps: rps === null ? null : round2(rps),
      p50Ms: orNull(h[2] as number),
      p99Ms: orNull(h[3] as number),
      rssBytes: h[4] as number,
      primaryRssBytes: h[8] as number,
      websockets: h[5] as number,
      sseStreams: h[9] as number,
      pubsubPerS: round2(h[6] as number),
      relayedPerS: round2(h[7] as number),
      app: Object.fromEntries(
        Object.entries(appRates ?? {}).map(([name, rate]) => [name, round2(rate)]),
      ),
      workers,
      extras,
    };
  }

  #extraId(name: string): number {
    const id = this.#extraNames.indexOf(name);
    if (id >= 0) return id;
    this.#extraNames.push(name);
    return this.#extraNames.length - 1;
  }
}

/**
 * Records a sample every `history.intervalMs` from `samples()` (the collector's snapshot round,
 * shared with a concurrent /admin/status or /metrics); a round still out when the next is due is
 * not doubled. Returns the stop function.
 */
export function sampleHistory(
  history: FleetHistory,
  samples: () => Promise<Sample[]>,
  view: () => FleetView,
  onError: (error: unknown) => void,
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    samples()
      .then((answered) => history.record(view(), answered))
      .catch(onError)
      .finally(() => {
        busy = false;
      });
  }, history.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
