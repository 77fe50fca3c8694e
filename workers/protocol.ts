import { z } from "zod";
import type { Json, StopReason } from "../app/fleet.ts";

/**
 * The primary <-> worker protocol. Every message carries `fleet: PROTOCOL`, so anything else
 * on the IPC channel (an app's own `process.send`) can never be mistaken for one of ours.
 */
export const PROTOCOL = "bun-fleet/1";

/** Env variable that carries a worker's identity and settings at spawn. */
export const WORKER_ENV = "BUN_FLEET_WORKER";

const stopReason = z.string().min(1) as unknown as z.ZodType<StopReason>;
const tagged = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.object({ fleet: z.literal(PROTOCOL), kind: z.literal(kind), ...shape });

const primaryMessage = z.discriminatedUnion("kind", [
  /**
   * Begin draining; finish by `deadline` (epoch ms), then force. A worker retiring while
   * siblings serve keeps its listener for `windowMs` first, answering `Connection: close`.
   */
  tagged("drain", { reason: stopReason, deadline: z.number(), windowMs: z.number().min(0) }),
]);

const workerMessage = z.discriminatedUnion("kind", [
  /** Listening, onStart done: this worker serves. */
  tagged("ready", {}),
  /** Could not start (app threw, port taken); the worker exits right after. */
  tagged("boot-failed", { error: z.string() }),
  /** Something in this worker (e.g. POST /admin/stop) asks for a fleet-wide stop. */
  tagged("stop-requested", { reason: stopReason }),
  /** This worker began draining on its own (its own signal, lost primary): its exit is intended. */
  tagged("draining", { reason: stopReason }),
  /** The event loop is alive (sent from a timer on it, so a blocked loop goes silent). */
  tagged("heartbeat", {}),
  /** Replace me the rolling way: I reached MAX_REQUESTS or MAX_MEMORY_MB. */
  tagged("recycle", { reason: z.enum(["max-requests", "max-memory"]) }),
  /** POST /admin/reload: replace every worker, one slot at a time. */
  tagged("reload-requested", {}),
  /** POST /admin/scale: run this many HTTP workers. */
  tagged("scale-requested", { workers: z.number().int().min(1) }),
]);

/** Primary -> worker. */
export type PrimaryMessage = z.infer<typeof primaryMessage>;
/** Worker -> primary. */
export type WorkerMessage = z.infer<typeof workerMessage>;

type Body<M> = M extends unknown ? Omit<M, "fleet"> : never;

/** Builds a tagged message: `message<WorkerMessage>({ kind: "ready" })`. */
export function message<M extends PrimaryMessage | WorkerMessage>(body: Body<M>): M {
  return { fleet: PROTOCOL, ...body } as M;
}

/** Result of reading one raw IPC message. */
export type Parsed<M> = { ok: true; message: M } | { ok: false; error: string };

function parseWith<M>(schema: z.ZodType<M>, raw: unknown): Parsed<M> {
  if (typeof raw !== "object" || raw === null || (raw as { fleet?: unknown }).fleet !== PROTOCOL) {
    return { ok: false, error: "not a fleet message (no protocol tag)" };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  const issue = result.error.issues[0];
  return {
    ok: false,
    error: `malformed: ${issue?.path.join(".") || "message"}: ${issue?.message}`,
  };
}

/** Validates a message that arrived at a worker. */
export const parsePrimaryMessage = (raw: unknown) => parseWith(primaryMessage, raw);
/** Validates a message that arrived at the primary. */
export const parseWorkerMessage = (raw: unknown) => parseWith(workerMessage, raw);

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
}

const workerInit = z.object({
  role: z.enum(["http", "extra"]),
  extra: z.object({ name: z.string().min(1), module: z.string().min(1) }).nullable(),
  index: z.number().int().min(0),
  context: z.json(),
  setup: z.json(),
  port: z.number().int().min(1).max(65535),
  host: z.string().min(1),
  appModule: z.string().min(1),
  hooksModule: z.string().min(1),
  adminToken: z.string().min(1),
  shutdownTimeoutMs: z.number().int().min(1),
  heartbeatMs: z.number().int().min(0),
  maxRequests: z.number().int().min(0),
  maxMemoryMb: z.number().min(0),
}) as unknown as z.ZodType<WorkerInit>;

/** Reads a worker's spawn-time identity; a clear error when run without a primary. */
export function parseWorkerInit(text: string | undefined): Parsed<WorkerInit> {
  if (!text)
    return {
      ok: false,
      error: `${WORKER_ENV} is not set: workers are started by the primary (bun run start)`,
    };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `${WORKER_ENV} is not JSON: ${(error as Error).message}` };
  }
  const result = workerInit.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  const issue = result.error.issues[0];
  return { ok: false, error: `${WORKER_ENV}.${issue?.path.join(".")}: ${issue?.message}` };
}
