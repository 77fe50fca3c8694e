import { relative } from "node:path";
import type { FetchApp, FleetHooks, FleetWorker, Json } from "../app/fleet.ts";
import { MAX_CONTEXT_BYTES } from "./config.ts";

const HOOK_NAMES = ["setup", "onStart", "onShutdown"] as const;

const shown = (path: string) => relative(process.cwd(), path) || path;

const kindOf = (value: unknown) => (value === null ? "null" : typeof value);

function isFetchApp(value: unknown): value is FetchApp {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { fetch?: unknown }).fetch === "function"
  );
}

/** Imports the hooks module and checks that each hook it exports is a function. */
export async function loadHooks(path: string): Promise<FleetHooks> {
  const mod: Record<string, unknown> = await import(path);
  for (const name of HOOK_NAMES) {
    if (mod[name] !== undefined && typeof mod[name] !== "function") {
      throw new Error(`HOOKS_MODULE ${shown(path)}: export "${name}" must be a function`);
    }
  }
  return mod as FleetHooks;
}

/** Imports the app module and builds the app: its default export, or what its factory returns. */
export async function loadApp(path: string, worker: FleetWorker): Promise<FetchApp> {
  const mod: { default?: unknown } = await import(path);
  const exported = mod.default;
  if (isFetchApp(exported)) return exported;
  if (typeof exported !== "function") {
    throw new Error(
      `APP_MODULE ${shown(path)} must \`export default\` a Hono app or a function (worker) => app; got ${kindOf(exported)}`,
    );
  }
  const app: unknown = await exported(worker);
  if (!isFetchApp(app)) {
    throw new Error(
      `APP_MODULE ${shown(path)}: the default export's factory must return a Hono app; got ${kindOf(app)}`,
    );
  }
  return app;
}

/** Where `value` stops being plain JSON (a function, a Date, NaN...), or null when it is JSON. */
export function jsonProblem(value: unknown, at = "result"): string | null {
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : `${at} is ${value}`;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = jsonProblem(item, `${at}[${i}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      return `${at} is a ${proto?.constructor?.name ?? "non-plain object"}`;
    }
    for (const [key, item] of Object.entries(value)) {
      const problem = jsonProblem(item, `${at}.${key}`);
      if (problem) return problem;
    }
    return null;
  }
  return `${at} is ${typeof value}`;
}

/** Runs the hooks module's `setup` once (in the primary) and checks its result can reach workers. */
export async function runSetupHook(hooksModule: string): Promise<Json> {
  const hooks = await loadHooks(hooksModule);
  const value: unknown = (await hooks.setup?.()) ?? null;
  const problem = jsonProblem(value);
  if (problem) throw new Error(`setup must return plain JSON data; ${problem}`);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_CONTEXT_BYTES) {
    throw new Error(
      `setup returned ${bytes} bytes of JSON; it travels in env, keep it under ${MAX_CONTEXT_BYTES} (share larger data through a file)`,
    );
  }
  return value as Json;
}
