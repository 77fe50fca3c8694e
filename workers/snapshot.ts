/**
 * What one child reports about itself when the primary asks (for /admin/status and /metrics):
 * plain numbers, counted cheaply on the request path; the primary turns them into Prometheus
 * series with prom-client, so no child ever loads it.
 */

/** Upper bounds (seconds) of `http_request_duration_seconds`; one more bucket is +Inf. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** `[method, status, count]`: app requests answered with that status. */
export type StatusCount = [method: string, status: number, count: number];

/** One child's numbers at the moment it was asked. */
export interface ChildSnapshot {
  /** Resident set size, bytes. */
  rss: number;
  /** False with METRICS=0 (or in an extra): the request fields below are all zero. */
  metered: boolean;
  /** App requests answered since this process started. */
  requests: number;
  /** App requests begun and not yet answered. */
  inFlight: number;
  counts: StatusCount[];
  /** Requests per duration bucket (not cumulative): DURATION_BUCKETS, then +Inf. */
  buckets: number[];
  /** Sum of request durations, seconds. */
  durationSum: number;
  /** WebSockets open on this worker now (pub/sub counts reach the primary as pubsub-counts). */
  websockets: number;
  /** `worker.sse` streams open on this worker now. */
  sseStreams: number;
  /** `worker.sse` streams cut since this process started: their client fell too far behind. */
  sseCut: number;
  /** The app's own numbers (the hooks module's `stats`), when it has some. */
  app?: { [name: string]: number | string };
}

const APP_STAT_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** What is wrong with an app's stats (the hooks module's `stats`), or null. */
export function appStatsProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "must be an object of numbers and strings";
  }
  const entries = Object.entries(value);
  if (entries.length > 64) return "at most 64 entries";
  for (const [name, v] of entries) {
    if (!APP_STAT_NAME.test(name)) return `${name}: names are a-z, 0-9 and _`;
    const ok =
      (typeof v === "number" && Number.isFinite(v)) || (typeof v === "string" && v.length <= 200);
    if (!ok) return `${name}: must be a finite number or a string of up to 200 characters`;
  }
  return null;
}

const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const isNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** What is wrong with a snapshot that arrived over IPC, or null when it is well formed. */
export function snapshotProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "must be an object";
  const s = value as Record<string, unknown>;
  for (const field of ["rss", "requests", "inFlight", "websockets", "sseStreams", "sseCut"]) {
    if (!isCount(s[field])) return `${field}: must be an integer >= 0`;
  }
  if (typeof s.metered !== "boolean") return "metered: must be true or false";
  if (!isNumber(s.durationSum)) return "durationSum: must be a number >= 0";
  const { buckets, counts } = s;
  if (!Array.isArray(buckets) || !buckets.every(isCount)) return "buckets: must be counts";
  if (buckets.length !== 0 && buckets.length !== DURATION_BUCKETS.length + 1) {
    return `buckets: must have ${DURATION_BUCKETS.length + 1} entries`;
  }
  const row = (r: unknown) =>
    Array.isArray(r) &&
    r.length === 3 &&
    typeof r[0] === "string" &&
    /^[A-Z]{1,20}$/.test(r[0]) &&
    Number.isInteger(r[1]) &&
    isCount(r[2]);
  if (!Array.isArray(counts) || counts.length > 10_000 || !counts.every(row)) {
    return "counts: must be [method, status, count] rows";
  }
  if (s.app !== undefined) {
    const problem = appStatsProblem(s.app);
    if (problem) return `app: ${problem}`;
  }
  return null;
}

/**
 * How much longer than COLLECT_TIMEOUT_MS a worker waits for the primary's collected answer
 * (rendering included) before answering 504.
 */
export const REPLY_GRACE_MS = 2000;

/** A snapshot of a process that serves no HTTP (an extra, or METRICS=0). */
export function idleSnapshot(): ChildSnapshot {
  return {
    rss: process.memoryUsage.rss(),
    metered: false,
    requests: 0,
    inFlight: 0,
    counts: [],
    buckets: [],
    durationSum: 0,
    websockets: 0,
    sseStreams: 0,
    sseCut: 0,
  };
}
