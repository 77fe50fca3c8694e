/**
 * The entry of `dist/bun-fleet` (`bun run build`). One executable is every process of the fleet:
 *   ./bun-fleet [options]      the primary, as `bun run start -- [options]`
 *   ./bun-fleet migrate [...]  the database migrations, as `bun run migrate` (when the build had
 *                              scripts/migrate.ts)
 * and the primary spawns its workers, extras and setup process as the same file
 * (`process.execPath`), which recognise themselves by what the primary puts in their env. It also runs from source
 * (`bun scripts/bin.ts`), which is how the dispatch is tested without a build.
 */
import { join } from "node:path";
import { SETUP_ENV } from "../workers/primary/start/setup-process.ts";
import { CHILD_ENV } from "../workers/worker-init.ts";

// `--` is accepted and dropped, so `./bun-fleet -- [options]` (the usage --help prints, shared with
// `bun run start -- [options]`) works as written.
const argv = process.argv.slice(process.argv[2] === "--" ? 3 : 2);
const ROOT = join(import.meta.dir, "..");

if (process.env[CHILD_ENV] !== undefined) {
  await import("../workers/child/main.ts");
} else if (process.env[SETUP_ENV] !== undefined) {
  await import("../workers/primary/start/setup-main.ts");
} else if (argv[0] === "migrate") {
  process.exit(await migrate(argv.slice(1)));
} else {
  const { main } = await import("../workers/primary/main.ts");
  process.exit(await main(argv, { command: "bun-fleet" }));
}

/**
 * `migrate`: scripts/migrate.ts's `main(argv) → exit code`, embedded by the build when the file
 * exists (loaded by path: a build without it still compiles).
 */
async function migrate(args: string[]): Promise<number> {
  const path = join(ROOT, "scripts", "migrate.ts");
  let mod: { main?: (argv: string[]) => number | Promise<number> };
  try {
    mod = await import(path);
  } catch (error) {
    process.stderr.write(
      `bun-fleet migrate: no migrations in this build (${(error as Error).message})\n`,
    );
    return 2;
  }
  if (typeof mod.main !== "function") {
    process.stderr.write("bun-fleet migrate: scripts/migrate.ts exports no main(argv)\n");
    return 2;
  }
  return mod.main(args);
}
