/** A child's identity and settings, handed over at spawn in one env variable (JSON). */

import { anything, type Check, checkShape, count, flag, nonEmpty, type Result } from "./checks.ts";
import type { Json } from "./fleet.ts";
import {
  CHILD_SETTING_KEYS,
  type ChildSettingKey,
  childSettingChecks,
  type Settings,
} from "./settings.ts";

/** Env variable that carries a child's identity and settings at spawn. */
export const CHILD_ENV = "BUN_FLEET_WORKER";

/** Contexts and the setup value travel in env; Linux caps one env string at 128 KiB. */
export const MAX_CONTEXT_BYTES = 64 * 1024;

/**
 * The settings a child takes from the primary's configuration as they are: those declared
 * `child: true` in SETTINGS (settings.ts), plus two the primary resolves. The primary's
 * `FleetConfig` extends this, and `childSettings` picks it with the key list derived from the
 * same marks, so a new setting for children is one mark in the one table.
 */
export type ChildSettings = Pick<Settings, ChildSettingKey> & {
  /** Serve HTTPS with these PEM files (absolute paths, checked by the primary); null = HTTP. */
  tls: { certFile: string; keyFile: string } | null;
  /** Started by `bun run dev`: serve /__livereload and inject its client into HTML. */
  dev: boolean;
};

/** The child settings out of a larger configuration (leaving the primary's own behind). */
export function childSettings(config: ChildSettings): ChildSettings {
  const picked: Partial<ChildSettings> = { tls: config.tls, dev: config.dev };
  for (const key of CHILD_SETTING_KEYS) Object.assign(picked, { [key]: config[key] });
  return picked as ChildSettings; // tls, dev and every key of CHILD_SETTING_KEYS
}

/** What a child (HTTP worker or extra) learns at spawn (env `BUN_FLEET_WORKER`, JSON). */
export interface ChildInit extends ChildSettings {
  /** null for an HTTP worker (serves the app); an extra runs `extra.module` (no HTTP). */
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

const INIT_SHAPE: { [F in keyof ChildInit]-?: Check } = {
  ...childSettingChecks(),
  tls: (v) => {
    if (v === null) return null;
    const { certFile, keyFile } = (typeof v === "object" ? v : {}) as Record<string, unknown>;
    return nonEmpty(certFile) || nonEmpty(keyFile) ? "must be null or { certFile, keyFile }" : null;
  },
  dev: flag,
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
  heartbeatMs: count(0),
  maxRequests: count(0),
};

/** Reads a child's spawn-time identity; a clear error when run without a primary. */
export function parseChildInit(json: string | undefined): Result<ChildInit> {
  if (!json) {
    return {
      ok: false,
      error: `${CHILD_ENV} is not set: workers are started by the primary (bun run start)`,
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    return { ok: false, error: `${CHILD_ENV} is not JSON: ${(error as Error).message}` };
  }
  if (typeof raw !== "object" || raw === null)
    return { ok: false, error: `${CHILD_ENV} is not an object` };
  return checkShape<ChildInit>(raw as Record<string, unknown>, INIT_SHAPE, `${CHILD_ENV}.`);
}
