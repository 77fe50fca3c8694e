import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExtraProcess, FleetHooks, Json, SetupContext } from "../../fleet.ts";
import { pathExists, shown } from "../../modules.ts";
import { MAX_CONTEXT_BYTES } from "../../worker-init.ts";

/** The setup process's use of the hooks module (setup-main.ts): `setup` and `extras`. */

const EXTRA_NAME = /^[A-Za-z0-9._-]+$/;

/** One `extras` entry with its defaults, or the first thing wrong with it (`at` names it). */
function checkExtra(value: unknown, at: string): Required<ExtraProcess> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${at} must be an object { name, module, instances? }`);
  }
  const { name, module, instances = 1 } = value as Record<string, unknown>;
  if (typeof name !== "string" || !EXTRA_NAME.test(name)) {
    throw new Error(`${at}.name must be a simple name (A-Z a-z 0-9 . _ -)`);
  }
  if (typeof module !== "string" || module === "") {
    throw new Error(`${at}.module must be a module path or file URL`);
  }
  if (!Number.isInteger(instances) || (instances as number) < 1 || (instances as number) > 1024) {
    throw new Error(`${at}.instances must be a whole number from 1 to 1024`);
  }
  return { name, module, instances: instances as number };
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

/** `SetupContext.invalid`: the start stops as a configuration error (exit 2) with this line. */
export class SetupInvalid extends Error {}

/** Runs the hooks module's `setup` once (in the setup process) and checks its result can reach workers. */
export async function runSetupHook(
  hooks: FleetHooks,
  fleet: Omit<SetupContext, "invalid"> = { config: {}, workers: 1, log: console },
): Promise<Json> {
  const invalid = (message: string): never => {
    throw new SetupInvalid(message);
  };
  const value: unknown = (await hooks.setup?.({ ...fleet, invalid })) ?? null;
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

/** Checks the hooks module's `extras`; module paths resolve against the hooks module. */
export function checkExtras(
  extras: FleetHooks["extras"],
  hooksModule: string,
): Required<ExtraProcess>[] {
  if (extras === undefined) return [];
  const where = `HOOKS_MODULE ${shown(hooksModule)}: extras`;
  if (!Array.isArray(extras)) throw new Error(`${where} must be an array`);
  const names = new Set<string>();
  return extras.map((value: unknown, i) => {
    const extra = checkExtra(value, `${where}[${i}]`);
    if (names.has(extra.name))
      throw new Error(`HOOKS_MODULE: two extras are named "${extra.name}"`);
    names.add(extra.name);
    const path = extra.module.startsWith("file:") ? fileURLToPath(extra.module) : extra.module;
    const module = isAbsolute(path) ? path : resolve(dirname(hooksModule), path);
    if (!pathExists(module)) {
      throw new Error(`HOOKS_MODULE: extra "${extra.name}": no such module ${shown(module)}`);
    }
    return { ...extra, module };
  });
}
