import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { ExtraProcess, FleetHooks, Json } from "../../app/fleet.ts";
import { shown } from "../modules.ts";
import { MAX_CONTEXT_BYTES } from "../protocol.ts";

/** The primary's use of the hooks module: the `setup` hook and the `extras` declarations. */
const extrasSchema = z.array(
  z.object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a simple name (A-Z a-z 0-9 . _ -)"),
    module: z.string().min(1),
    instances: z.number().int().min(1).max(1024).default(1),
  }),
);

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
export async function runSetupHook(hooks: FleetHooks): Promise<Json> {
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

/** Checks the hooks module's `extras`; module paths resolve against the hooks module. */
export function checkExtras(
  extras: FleetHooks["extras"],
  hooksModule: string,
): Required<ExtraProcess>[] {
  if (extras === undefined) return [];
  const parsed = extrasSchema.safeParse(extras);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `HOOKS_MODULE ${shown(hooksModule)}: extras.${issue?.path.join(".")} ${issue?.message}`,
    );
  }
  const names = new Set<string>();
  return parsed.data.map((extra) => {
    if (names.has(extra.name))
      throw new Error(`HOOKS_MODULE: two extras are named "${extra.name}"`);
    names.add(extra.name);
    const path = extra.module.startsWith("file:") ? fileURLToPath(extra.module) : extra.module;
    const module = isAbsolute(path) ? path : resolve(dirname(hooksModule), path);
    if (!existsSync(module)) {
      throw new Error(`HOOKS_MODULE: extra "${extra.name}": no such module ${shown(module)}`);
    }
    return { ...extra, module };
  });
}
