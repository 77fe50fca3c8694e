/** The shape of `GET /admin/history` (the dashboard and `bun run status --watch` read it). */

/** One HTTP worker process in a sample. */
export interface HistoryWorker {
  index: number;
  pid: number;
  /** App requests/s since the previous sample (null with METRICS=0 or no answer). */
  rps: number | null;
  rssBytes: number | null;
  websockets: number | null;
}

/** One extra process in a sample (memory only: extras serve no HTTP). */
export interface HistoryExtra {
  name: string;
  index: number;
  pid: number;
  rssBytes: number | null;
}

/** One second of the fleet, whole-fleet numbers first. */
export interface HistorySample {
  /** Epoch ms. */
  t: number;
  /** App requests/s over every HTTP worker (null when none is metered). */
  rps: number | null;
  /** Latency of the requests answered since the previous sample (null when there were none). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Resident memory of every process that answered, the primary included. */
  rssBytes: number;
  primaryRssBytes: number;
  websockets: number;
  /** `worker.sse` streams open over every HTTP worker. */
  sseStreams: number;
  /** `worker.publish` calls (and Redis arrivals) per second, reaching the primary. */
  pubsubPerS: number;
  /** Publications handed to workers per second. */
  relayedPerS: number;
  /**
   * Per second, the app's counters (the hooks' `stats` numbers named `*_total`; the template:
   * `db_queries_total`, `db_errors_total`), summed over the HTTP workers; {} without any.
   */
  app: Record<string, number>;
  /** Every live HTTP worker process: during a rolling reload a slot index appears twice. */
  workers: HistoryWorker[];
  extras: HistoryExtra[];
}

export type HistoryEventKind = "reload" | "restart" | "crash" | "scale" | "recycle";

/** A marker on the charts. */
export interface HistoryEvent {
  t: number;
  kind: HistoryEventKind;
  text: string;
}

/** `GET /admin/history`. */
export interface FleetHistoryJson {
  intervalMs: number;
  capacity: number;
  samples: HistorySample[];
  events: HistoryEvent[];
}
