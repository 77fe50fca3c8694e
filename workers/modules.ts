import { existsSync } from "node:fs";
import { relative } from "node:path";
import type { FleetHooks } from "./fleet.ts";

/** What both processes know of the user's modules: how to name them and what hooks look like. */

const HOOK_NAMES = ["setup", "onStart", "onShutdown", "stats", "jobs"] as const;

/**
 * Where `bun run build` mirrors the project tree inside `dist/bun-fleet` (Bun's embedded file
 * system): the binary's default APP_MODULE is `/$bunfs/root/app/index.ts`.
 */
export const EMBEDDED_ROOT = "/$bunfs/root/";

/**
 * `existsSync`, and for a module embedded in the binary (`/$bunfs/root/app/index.ts`, which
 * imports by that name) the `.js` Bun stored it as.
 */
export const pathExists = (path: string) =>
  existsSync(path) ||
  (path.startsWith(EMBEDDED_ROOT) && existsSync(path.replace(/\.[cm]?tsx?$/, ".js")));

/** A path as the user would write it: relative to the working directory, or `… (embedded)`. */
export const shown = (path: string) =>
  path.startsWith(EMBEDDED_ROOT)
    ? `${path.slice(EMBEDDED_ROOT.length)} (embedded)`
    : relative(process.cwd(), path) || path;

/** `typeof`, but "null" for null: for messages about what a module exported. */
export const kindOf = (value: unknown) => (value === null ? "null" : typeof value);

/** Checks that each hook an imported hooks module exports is a function. */
export function checkHooks(mod: Record<string, unknown>, path: string): FleetHooks {
  for (const name of HOOK_NAMES) {
    if (mod[name] !== undefined && typeof mod[name] !== "function") {
      throw new Error(`HOOKS_MODULE ${shown(path)}: export "${name}" must be a function`);
    }
  }
  return mod as FleetHooks;
}
