/**
 * `bun run migrate` (and `./bun-fleet migrate`): applies the pending migrations
 * (app/db/migrations) to DATABASE_URL and exits, a release step before a rolling reload. Exit 0
 * when done or when there was nothing to do, 2 for an invalid DATABASE_URL or usage, 3 when a
 * migration changed or failed (named), or the migration lock stayed held past
 * DB_LOCK_TIMEOUT_MS (its holder named). `--status` lists them.
 *
 * The template's release command: it runs app/db's migrations, so it is the one file of
 * scripts/ that imports app/ (the layout test names it); delete it with app/db.
 */
import { type AppConfig, settings } from "../app/config.ts";
import { databaseTarget } from "../app/db/index.ts";
import { migrate, migrationStatus } from "../app/db/migrate.ts";
import { readAppSettings } from "../workers/primary/config/app-settings.ts";

const USAGE = "Usage: bun run migrate [-- --status]   (DATABASE_URL as for bun run start)";

/** Runs the command with `args`; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const unknown = args.find((a) => a !== "--status" && a !== "--help" && a !== "-h");
  if (unknown) {
    console.error(`migrate: unknown argument ${unknown}\n${USAGE}`);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const read = readAppSettings(settings, process.env);
  if (!read.ok) {
    console.error(`migrate: invalid configuration: ${read.message}`);
    return 2;
  }
  const target = databaseTarget(read.config);
  try {
    if (args.includes("--status")) {
      const rows = await migrationStatus(target);
      console.log(`database ${target.dialect} ${target.shown}`);
      for (const row of rows) {
        const when = row.appliedAt ? ` ${new Date(row.appliedAt).toISOString()}` : "";
        console.log(
          `${String(row.version).padStart(4, "0")} ${row.name.padEnd(30)} ${row.state}${when}`,
        );
      }
      const pending = rows.filter((r) => r.state === "pending").length;
      const changed = rows.filter((r) => r.state === "changed").length;
      console.log(`${pending} pending, ${changed} changed`);
      return changed ? 3 : 0;
    }
    const { applied } = await migrate(target, {
      log: (line) => console.log(line),
      lockTimeoutMs: (read.config as AppConfig).DB_LOCK_TIMEOUT_MS,
    });
    console.log(
      applied.length
        ? `database ${target.dialect} ${target.shown}: ${applied.length} migration(s) applied`
        : `database ${target.dialect} ${target.shown}: nothing to do, schema up to date`,
    );
    return 0;
  } catch (error) {
    const text = (error as { code?: unknown }).code
      ? (error as Error).message
      : ((error as Error).stack ?? String(error));
    console.error(`migrate: ${text}`);
    return 3;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
