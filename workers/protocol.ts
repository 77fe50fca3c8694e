import {
  type Check,
  checkShape,
  count,
  finite,
  flag,
  nonEmpty,
  oneOf,
  type Result,
  reason,
  text,
} from "./checks.ts";
import type { StopReason } from "./fleet.ts";
import { type ChildSnapshot, snapshotProblem } from "./snapshot.ts";

/**
 * The primary <-> worker protocol. Every message carries `fleet: PROTOCOL`, so anything else
 * on the IPC channel (an app's own `process.send`) can never be mistaken for one of ours.
 * What arrives is checked against typed shape tables (checks.ts). The spawn-time identity of a
 * worker is worker-init.ts.
 */
export const PROTOCOL = "bun-fleet/1";

type Tagged<K extends string, Body = unknown> = { fleet: typeof PROTOCOL; kind: K } & Body;

/** What a worker can ask the primary to collect from the whole fleet. */
export type Collected = "status" | "metrics";

/** Primary -> child. */
export type PrimaryMessage =
  /**
   * Begin draining; finish by `deadline` (epoch ms), then force. A worker retiring while
   * siblings serve keeps its listener for `windowMs` first, answering `Connection: close`.
   */
  | Tagged<"drain", { reason: StopReason; deadline: number; windowMs: number }>
  /** Pub/sub: another fleet published (via Redis); deliver to local subscribers. */
  | Tagged<"publish", Publication>
  /**
   * Pub/sub: the answer to `pubsub-listening`: the siblings to open a mesh socket to (those that
   * listened before), whether to hand publications to the primary too (Redis), the lag budget.
   */
  | Tagged<"pubsub-peers", { peers: MeshPeer[]; remote: boolean; maxLagBytes: number }>
  /** Report your numbers (answer `snapshot` with the same id; late answers are dropped). */
  | Tagged<"snapshot-request", { id: number }>
  /** The answer to this worker's `collect-request`: JSON (status) or Prometheus text. */
  | Tagged<"collect-reply", { id: number; ok: boolean; body: string }>
  /** `bun run dev`: the number of rolling reloads completed so far (live reload tells pages). */
  | Tagged<"live-reload", { generation: number }>
  /**
   * The answer to `take-tokens` `id`, per request: how many were granted (0 = refused; more
   * than 1 leases the rest to the worker), what is left of the budget, and the window's end.
   */
  | Tagged<"tokens", { id: number; granted: number[]; remaining: number[]; resets: number[] }>;

/** Child (HTTP worker or extra) -> primary. */
export type ChildMessage =
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
  /** Pub/sub, with PUBSUB_URL only: this worker's app published; send it to other fleets. */
  | Tagged<"publish", Publication>
  /** Pub/sub: totals of relayed messages received so far; bounds what the primary keeps in flight. */
  | Tagged<"pubsub-ack", { messages: number; bytes: number }>
  /** Pub/sub: this worker's mesh socket listens at `path`; who are my siblings? */
  | Tagged<"pubsub-listening", { path: string }>
  /** Pub/sub: counts since the last report (the primary keeps the fleet's totals). */
  | Tagged<"pubsub-counts", { published: number; relayed: number; dropped: number }>
  /** The answer to `snapshot-request`. */
  | Tagged<"snapshot", { id: number; snapshot: ChildSnapshot }>
  /** GET /admin/status or /metrics: collect it from the fleet; reply `collect-reply` with `id`. */
  | Tagged<"collect-request", { id: number; what: Collected }>
  /** GET /admin/history: the samples after `since` (epoch ms); reply `collect-reply` with `id`. */
  | Tagged<"history-request", { id: number; since: number }>
  /**
   * `worker.consume`, batched: one request on each `keys[i]` under `limits[i]` per `windows[i]`
   * ms; reply `tokens` with `id`.
   */
  | Tagged<"take-tokens", { id: number; keys: string[]; limits: number[]; windows: number[] }>;

/**
 * One pub/sub message on the wire. The IPC channel is JSON (`serialization: "json"`, 2.4x the
 * relay rate of the default), so bytes travel as base64 with `binary: true`.
 */
export interface Publication {
  topic: string;
  data: string;
  binary: boolean;
}

/** A sibling worker's pub/sub mesh socket. */
export interface MeshPeer {
  index: number;
  pid: number;
  path: string;
}

/** Largest batch of requests in one `take-tokens` (a worker sends more as several). */
export const MAX_HITS_PER_MESSAGE = 4096;

const listOf =
  (item: Check, what: string): Check =>
  (v) =>
    Array.isArray(v) && v.length <= MAX_HITS_PER_MESSAGE && v.every((x) => item(x) === null)
      ? null
      : `must be a list of at most ${MAX_HITS_PER_MESSAGE} ${what}`;

const peers: Check = (v) =>
  Array.isArray(v) &&
  v.every(
    (p) =>
      typeof p === "object" &&
      p !== null &&
      Number.isInteger(p.index) &&
      Number.isInteger(p.pid) &&
      typeof p.path === "string" &&
      p.path !== "",
  )
    ? null
    : "must be a list of {index, pid, path}";

/** The fields of each message kind: a kind missing here is a compile error. */
type Shapes<M extends { kind: string }> = {
  [K in M["kind"]]: { [F in Exclude<keyof Extract<M, { kind: K }>, "fleet" | "kind">]-?: Check };
};

const PRIMARY_SHAPES: Shapes<PrimaryMessage> = {
  drain: { reason, deadline: finite, windowMs: count(0) },
  publish: { topic: nonEmpty, data: text, binary: flag },
  "pubsub-peers": { peers, remote: flag, maxLagBytes: count(1) },
  "snapshot-request": { id: count(0) },
  "collect-reply": { id: count(0), ok: flag, body: text },
  "live-reload": { generation: count(0) },
  tokens: {
    id: count(0),
    granted: listOf(count(0), "grants"),
    remaining: listOf(count(0), "counts"),
    resets: listOf(count(0), "epoch-ms times"),
  },
};

const CHILD_SHAPES: Shapes<ChildMessage> = {
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
  "pubsub-listening": { path: nonEmpty },
  "pubsub-counts": { published: count(0), relayed: count(0), dropped: count(0) },
  snapshot: { id: count(0), snapshot: snapshotProblem },
  "collect-request": { id: count(0), what: oneOf("status", "metrics") },
  "history-request": { id: count(0), since: count(0) },
  "take-tokens": {
    id: count(0),
    keys: listOf(nonEmpty, "keys"),
    limits: listOf(count(1), "limits"),
    windows: listOf(count(1), "window lengths (ms)"),
  },
};

/** Builds a tagged message: `message<ChildMessage>({ kind: "ready" })`. */
export function message<M extends PrimaryMessage | ChildMessage>(
  body: M extends unknown ? Omit<M, "fleet"> : never,
): M {
  return { fleet: PROTOCOL, ...body } as M;
}

function parseWith<M extends { kind: string }>(shapes: Shapes<M>, raw: unknown): Result<M> {
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

/** Validates a message that arrived at a child. */
export const parsePrimaryMessage = (raw: unknown) => parseWith(PRIMARY_SHAPES, raw);
/** Validates a message that arrived at the primary. */
export const parseChildMessage = (raw: unknown) => parseWith(CHILD_SHAPES, raw);

/** One handler per message kind: a kind without a handler is a compile error. */
export type Handlers<M extends { kind: string }> = {
  [K in M["kind"]]: (message: Extract<M, { kind: K }>) => void;
};

/** Calls the handler for `message.kind`. */
export function dispatch<M extends { kind: string }>(handlers: Handlers<M>, message: M): void {
  const handler = handlers[message.kind as M["kind"]] as (message: M) => void;
  handler(message);
}

/**
 * One handler per message kind that also takes who sent it (Node's cluster `methodMessageMapping`,
 * but checked): a kind without a handler is a compile error.
 */
export type Routes<M extends { kind: string }, From> = {
  [K in M["kind"]]: (from: From, message: Extract<M, { kind: K }>) => void;
};

/** Calls the route for `message.kind` with its sender. */
export function route<M extends { kind: string }, From>(
  routes: Routes<M, From>,
  from: From,
  message: M,
): void {
  const handler = routes[message.kind as M["kind"]] as (from: From, message: M) => void;
  handler(from, message);
}
