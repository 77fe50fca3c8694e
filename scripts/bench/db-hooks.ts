/**
 * HOOKS_MODULE for measuring what the data layer costs a route that does not touch the
 * database: the template's database hooks (settings, migrations in setup, a client per worker,
 * stats) without its extras. `bun run bench -- --pairs-only --against . --env
 * HOOKS_MODULE=scripts/bench/db-hooks.ts --against-env HOOKS_MODULE=scripts/bench/servers/hooks.ts`
 * The template's hooks are loaded by path, as the primary loads HOOKS_MODULE: scripts/ imports
 * nothing from app/, which is the user's to replace.
 */
import { join } from "node:path";
import type { FleetHooks } from "../../workers/fleet.ts";

const template = (await import(
  join(import.meta.dir, "..", "..", "app", "hooks.ts")
)) as FleetHooks & Record<string, unknown>;

export const { onShutdown, onStart, settings, setup, stats } = template;
