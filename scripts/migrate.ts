/**
 * `bun run migrate`: applies the pending migrations (app/db/migrations) to DATABASE_URL and exits,
 * a release step before a rolling reload. Exit 0 when done or when there was nothing to do, 2 for
 * an invalid DATABASE_URL, 3 when a migration changed or failed (named). `--status` lists them.
 */
import { settings } from "../app/config.ts";
import { databaseTarget } from "../app/db/index.ts";
import { migrate, migrationStatus } from "../app/db/migrate.ts";
import { readAppSettings } from "../workers/primary/config/app-settings.ts";

const args = process.argv.slice(2);
const unknown = args.find((a) => a !== "--status" && a !== "--help" && a !== "-h");
if (unknown || args.includes("--help") || args.includes("-h")) {
  const usage = "Usage: bun run migrate [-- --status]   (DATABASE_URL as for bun run start)";
  if (unknown) {
    console.error(`migrate: unknown argument ${unknown}\n${usage}`);
    process.exit(2);
  }
  console.log(usage);
  process.exit(0);
}

const read = readAppSettings(settings, process.env);
if (!read.ok) {
  console.error(`migrate: invalid configuration: ${read.message}`);
  process.exit(2);
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
    process.exit(changed ? 3 : 0);
  }
  const { applied } = await migrate(target, { log: (line) => console.log(line) });
  console.log(
    applied.length
      ? `database ${target.dialect} ${target.shown}: ${applied.length} migration(s) applied`
      : `database ${target.dialect} ${target.shown}: nothing to do, schema up to date`,
  );
  process.exit(0);
} catch (error) {
  const text = (error as { code?: unknown }).code
    ? (error as Error).message
    : ((error as Error).stack ?? String(error));
  console.error(`migrate: ${text}`);
  process.exit(3);
}
