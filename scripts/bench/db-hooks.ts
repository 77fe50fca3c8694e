/**
 * HOOKS_MODULE for measuring what the data layer costs a route that does not touch the
 * database: the template's database hooks (settings, migrations in setup, a client per worker,
 * stats) without its extras. `bun run bench -- --pairs-only --against . --env
 * HOOKS_MODULE=scripts/bench/db-hooks.ts --against-env HOOKS_MODULE=scripts/bench/hooks.ts`
 */
export { onShutdown, onStart, settings, setup, stats } from "../../app/hooks.ts";
