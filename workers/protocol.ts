import type { Json, StopReason } from "../app/fleet.ts";
import type { LevelName, LogFormat } from "./log.ts";
import { type ChildSnapshot, snapshotProblem } from "./snapshot.ts";

/**
 * The primary <-> worker protocol. Every message carries `fleet: PROTOCOL`, so anything else
 * on the IPC channel (an app's own `process.send`) can never be mistaken for one of ours.
 * Validation is by typed shape tables rather than zod: workers load this file, and zod would
 * add ~14 MB and ~50 ms to every worker whose app does not use it (measured).
 */
export const PROTOCOL = "bun-fleet/1";

/** Env variable that carries a worker's identity and settings at spawn. */
export const WORKER_ENV = "BUN_FLEET_WORKER";

/** Contexts and the setup value travel in env; Linux caps one env string at 128 KiB. */
export const MAX_CONTEXT_BYTES = 64 * 1024;

type Tagged<K extends string, Body = unknown> = { fleet: typeof PROTOCOL; kind: K } & Body;

/** What a worker can ask the primary to collect from the whole fleet. */
export type Collected = "status" | "metrics";

/** Primary -> worker. */
export type PrimaryMessage =
  /**
   * Begin draining; finish by `deadline` (epoch ms), then force. A worker retiring while
   * siblings serve keeps its listener for `windowMs` first, answering `Connection: close`.
   */
  | Tagged<"drain", { reason: StopReason; deadline: number; windowMs: number }>
  /** Pub/sub: another worker (or another fleet, via Redis) published; deliver to local subscribers. */
  | Tagged<"publish", Publication>
  /** Report your numbers (answer `snapshot` with the same id; late answers are dropped). */
  | Tagged<"snapshot-request", { id: number }>
  /** The answer to this worker's `collect-request`: JSON (status) or Prometheus text. */
  | Tagged<"collect-reply", { id: number; ok: boolean; body: string }>
  /** `bun run dev`: the number of rolling reloads completed so far (live reload tells pages). */
  | Tagged<"livereload", { generation: number }>;

/** Worker -> primary. */
export type WorkerMessage =
  /** Listening, onStart done: this worker serves. */
  | Tagged<"ready">
  /** Could not start (app threw, port taken); the worker exits right after. */
  | Tagged<"boot-failed", { error: string }>
  /** Something in this worker (e.g. POST /admin/stop) asks for a fleet-wide stop. */
  | Tagged<"stop-requested", { reason: StopReason }>
  /** This worker began draining on its own (its own signal, lost primary): its exit is intended. */
  | Tagged<"draining", { reason: StopReason }>
  /** The event loop is alive (sent from a timer on it, so a blocked loop goes silent). */
  | Tagged<"heartbeat">
  /** Replace me the rolling way: I reached MAX_REQUESTS or MAX_MEMORY_MB. */
  | Tagged<"recycle", { reason: "max-requests" | "max-memory" }>
  /** POST /admin/reload: replace every worker, one slot at a time. */
  | Tagged<"reload-requested">
  /** POST /admin/scale: run this many HTTP workers. */
  | Tagged<"scale-requested", { workers: number }>
  /** Pub/sub: this worker's app published (already delivered here); relay to the rest. */
  | Tagged<"publish", Publication>
  /** Pub/sub: totals of relayed messages received so far; bounds what the primary keeps in flight. */
  | Tagged<"pubsub-ack", { messages: number; bytes: number }>
  /** The answer to `snapshot-request`. */
  | Tagged<"snapshot", { id: number; snapshot: ChildSnapshot }>
  /** GET /admin/status or /metrics: collect it from the fleet; reply `collect-reply` with `id`. */
  | Tagged<"collect-request", { id: number; what: Collected }>;

/**
 * One pub/sub message on the wire. The IPC channel is JSON (`serialization: "json"`, 2.4x the
 * relay rate of the default), so bytes travel as base64 with `binary: true`.
 */
export interface Publication {
  topic: string;
  data: string;
  binary: boolean;
}

/** A field's check: what it must be, or null when `value` is fine. */
type Check = (value: unknown) => string | null;

const text: Check = (v) => (typeof v === "string" ? null : "must be a string");
const reason: Check = (v) => (typeof v === "string" && v !== "" ? null : "must be a stop reason");
const count =
  (min: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min ? null : `must be an integer >= ${min}`;
const finite: Check = (v) =>
  typeof v === "number" && Number.isFinite(v) ? null : "must be a number";
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    values.includes(v as string) ? null : `must be one of ${values.join(", ")}`;

const nonEmpty: Check = (v) =>
  typeof v === "string" && v !== "" ? null : "must be a non-empty string";
const flag: Check = (v) => (typeof v === "boolean" ? null : "must be true or false");

/** The fields of each message kind: a kind missing here is a compile error. */
type Shapes<M extends { kind: string }> = {
  [K in M["kind"]]: { [F in Exclude<keyof Extract<M, { kind: K }>, "fleet" | "kind">]-?: Check };
};

const PRIMARY_SHAPES: Shapes<PrimaryMessage> = {
  drain: { reason, deadline: finite, windowMs: count(0) },
  publish: { topic: nonEmpty, data: text, binary: flag },
  "snapshot-request": { id: count(0) },
  "collect-reply": { id: count(0), ok: flag, body: text },
  livereload: { generation: count(0) },
};

const WORKER_SHAPES: Shapes<WorkerMessage> = {
  ready: {},
  "boot-failed": { error: text },
  "stop-requested": { reason },
  draining: { reason },
  heartbeat: {},
  recycle: { reason: oneOf("max-requests", "max-memory") },
  "reload-requested": {},
  "scale-requested": { workers: count(1) },
  publish: { topic: nonEmpty, data: text, binary: flag },
  "pubsub-ack": { messages: count(0), bytes: count(0) },
  snapshot: { id: count(0), snapshot: snapshotProblem },
  "collect-request": { id: count(0), what: oneOf("status", "metrics") },
};

/** Builds a tagged message: `message<WorkerMessage>({ kind: "ready" })`. */
export function message<M extends PrimaryMessage | WorkerMessage>(
  body: M extends unknown ? Omit<M, "fleet"> : never,
): M {
  return { fleet: PROTOCOL, ...body } as M;
}

/** Result of reading one raw IPC message or the spawn env. */
export type Parsed<M> = { ok: true; message: M } | { ok: false; error: string };

/** Checks `raw` field by field against `shape`; names the first field that is wrong. */
function checkShape<T>(
  raw: Record<string, unknown>,
  shape: Record<string, Check>,
  at: string,
): Parsed<T> {
  for (const [field, check] of Object.entries(shape)) {
    const problem = check(raw[field]);
    if (problem) return { ok: false, error: `${at}${field}: ${problem}` };
  }
  return { ok: true, message: raw as T };
}

function parseWith<M extends { kind: string }>(shapes: Shapes<M>, raw: unknown): Parsed<M> {
  if (typeof raw !== "object" || raw === null || (raw as { fleet?: unknown }).fleet !== PROTOCOL) {
    return { ok: false, error: "not a fleet message (no protocol tag)" };
  }
  const { kind } = raw as { kind?: unknown };
  const shape =
    typeof kind === "string" ? (shapes as Record<string, Record<string, Check>>)[kind] : undefined;
  if (!shape || !Object.hasOwn(shapes, kind as string)) {
    return { ok: false, error: `malformed: kind: unknown kind ${JSON.stringify(kind)}` };
  }
  return checkShape<M>(raw as Record<string, unknown>, shape, "malformed: ");
}

/** Validates a message that arrived at a worker. */
export const parsePrimaryMessage = (raw: unknown) => parseWith(PRIMARY_SHAPES, raw);
/** Validates a message that arrived at the primary. */
export const parseWorkerMessage = (raw: unknown) => parseWith(WORKER_SHAPES, raw);

/** One handler per message kind: a kind without a handler is a compile error. */
export type Handlers<M extends { kind: string }> = {
  [K in M["kind"]]: (message: Extract<M, { kind: K }>) => void;
};

/** Calls the handler for `message.kind`. */
export function dispatch<M extends { kind: string }>(handlers: Handlers<M>, message: M): void {
  const handler = handlers[message.kind as M["kind"]] as (message: M) => void;
  handler(message);
}

/** What a worker learns at spawn (env `BUN_FLEET_WORKER`, JSON). */
export interface WorkerInit {
  /** "http" serves the app; "extra" runs `extra.module` (a non-HTTP process). */
  role: "http" | "extra";
  extra: { name: string; module: string } | null;
  index: number;
  context: Json;
  setup: Json;
  port: number;
  host: string;
  appModule: string;
  hooksModule: string;
  adminToken: string;
  shutdownTimeoutMs: number;
  /** Heartbeat period; 0 disables heartbeats. */
  heartbeatMs: number;
  /** Ask to be recycled after this many app requests; 0 = never. */
  maxRequests: number;
  /** Ask to be recycled above this RSS; 0 = never. */
  maxMemoryMb: number;
  /** Stamp `x-worker-index` on every response. */
  workerIndexHeader: boolean;
  /** WebSocket limits (WS_MAX_PAYLOAD_BYTES, WS_IDLE_TIMEOUT_S, WS_BACKPRESSURE_LIMIT_BYTES). */
  wsMaxPayloadBytes: number;
  wsIdleTimeoutS: number;
  wsBackpressureLimitBytes: number;
  /** Count app requests for status and metrics (METRICS). */
  metrics: boolean;
  /** Serve /metrics without the admin token (METRICS_PUBLIC). */
  metricsPublic: boolean;
  /** The primary's wait for each snapshot; a worker waits for the collected answer a bit longer. */
  collectTimeoutMs: number;
  logFormat: LogFormat;
  logLevel: LevelName;
  /** One line per app request (ACCESS_LOG). */
  accessLog: boolean;
  /** Serve HTTPS with these PEM files (absolute paths, checked by the primary); null = HTTP. */
  tls: { certFile: string; keyFile: string } | null;
  /** Bun's idleTimeout, seconds (0 = never). */
  idleTimeoutS: number;
  /** Larger request bodies get 413 JSON (Content-Length) or Bun's 413 (chunked). */
  maxBodyBytes: number;
  /** Started by `bun run dev`: serve /__livereload and inject its client into HTML. */
  dev: boolean;
}

const anything: Check = () => null; // JSON.parse only yields JSON

const INIT_SHAPE: { [F in keyof WorkerInit]-?: Check } = {
  role: oneOf("http", "extra"),
  extra: (v) => {
    if (v === null) return null;
    const { name, module } = (typeof v === "object" ? v : {}) as Record<string, unknown>;
    return nonEmpty(name) || nonEmpty(module) ? "must be null or { name, module }" : null;
  },
  index: count(0),
  context: anything,
  setup: anything,
  port: (v) => count(1)(v) ?? ((v as number) <= 65535 ? null : "must be <= 65535"),
  host: nonEmpty,
  appModule: nonEmpty,
  hooksModule: nonEmpty,
  adminToken: nonEmpty,
  shutdownTimeoutMs: count(1),
  heartbeatMs: count(0),
  maxRequests: count(0),
  maxMemoryMb: count(0),
  workerIndexHeader: flag,
  wsMaxPayloadBytes: count(1),
  wsIdleTimeoutS: count(0),
  wsBackpressureLimitBytes: count(1),
  metrics: flag,
  metricsPublic: flag,
  collectTimeoutMs: count(1),
  logFormat: oneOf("text", "json"),
  logLevel: oneOf("debug", "info", "warn", "error"),
  accessLog: flag,
  tls: (v) => {
    if (v === null) return null;
    const { certFile, keyFile } = (typeof v === "object" ? v : {}) as Record<string, unknown>;
    return nonEmpty(certFile) || nonEmpty(keyFile) ? "must be null or { certFile, keyFile }" : null;
  },
  idleTimeoutS: count(0),
  maxBodyBytes: count(1),
  dev: flag,
};

/** Reads a worker's spawn-time identity; a clear error when run without a primary. */
export function parseWorkerInit(json: string | undefined): Parsed<WorkerInit> {
  if (!json) {
    return {
      ok: false,
      error: `${WORKER_ENV} is not set: workers are started by the primary (bun run start)`,
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    return { ok: false, error: `${WORKER_ENV} is not JSON: ${(error as Error).message}` };
  }
  if (typeof raw !== "object" || raw === null)
    return { ok: false, error: `${WORKER_ENV} is not an object` };
  return checkShape<WorkerInit>(raw as Record<string, unknown>, INIT_SHAPE, `${WORKER_ENV}.`);
}
