import {
  anything,
  type Check,
  checkShape,
  count,
  flag,
  nonEmpty,
  oneOf,
  type Parsed,
} from "./checks.ts";
import type { Json } from "./fleet.ts";
import type { LevelName, LogFormat } from "./log.ts";

/** A worker's identity and settings, handed over at spawn in one env variable (JSON). */

/** Env variable that carries a worker's identity and settings at spawn. */
export const WORKER_ENV = "BUN_FLEET_WORKER";

/** Contexts and the setup value travel in env; Linux caps one env string at 128 KiB. */
export const MAX_CONTEXT_BYTES = 64 * 1024;

/**
 * The settings a child takes from the primary's configuration as they are. The primary's
 * `FleetConfig` extends this, so a new setting for children is declared here once and picked
 * by `childSettings` (the key list is checked complete at compile time).
 */
export interface ChildSettings {
  port: number;
  host: string;
  /** Absolute paths. */
  appModule: string;
  hooksModule: string;
  adminToken: string;
  shutdownTimeoutMs: number;
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

const CHILD_SETTING_KEYS = [
  "port",
  "host",
  "appModule",
  "hooksModule",
  "adminToken",
  "shutdownTimeoutMs",
  "maxMemoryMb",
  "workerIndexHeader",
  "wsMaxPayloadBytes",
  "wsIdleTimeoutS",
  "wsBackpressureLimitBytes",
  "metrics",
  "metricsPublic",
  "collectTimeoutMs",
  "logFormat",
  "logLevel",
  "accessLog",
  "tls",
  "idleTimeoutS",
  "maxBodyBytes",
  "dev",
] as const satisfies readonly (keyof ChildSettings)[];

/** A key of ChildSettings missing from the list above is a compile error here. */
const _complete: Exclude<keyof ChildSettings, (typeof CHILD_SETTING_KEYS)[number]> extends never
  ? true
  : never = true;

/** The child settings out of a larger configuration (leaving the primary's own behind). */
export function childSettings(config: ChildSettings): ChildSettings {
  const picked: Record<string, unknown> = {};
  for (const key of CHILD_SETTING_KEYS) picked[key] = config[key];
  return picked as unknown as ChildSettings; // every key of ChildSettings, checked above
}

/** What a worker learns at spawn (env `BUN_FLEET_WORKER`, JSON): its place, plus the settings. */
export interface WorkerInit extends ChildSettings {
  /** "http" serves the app; "extra" runs `extra.module` (a non-HTTP process). */
  role: "http" | "extra";
  extra: { name: string; module: string } | null;
  index: number;
  context: Json;
  setup: Json;
  /** The app's settings (`worker.config`), checked by the primary. */
  config: { [env: string]: Json };
  /** Heartbeat period; 0 disables heartbeats. */
  heartbeatMs: number;
  /** Ask to be recycled after this many app requests (MAX_REQUESTS + jitter); 0 = never. */
  maxRequests: number;
}

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
  config: (v) =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? null : "must be an object",
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
