import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDb, openDb } from "../../app/db/index.ts";
import { migrate } from "../../app/db/migrate.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";

/**
 * A throwaway SQLite database for the tests of a file that call routes through `app.request()`.
 * Routes query `db()`, the process's client, which a fleet's workers open in `onStart`; a test
 * has no fleet, so call this at the top of the file: before its tests, a new file is migrated
 * with app/db/migrations and `db()` opened on it; after them, both are closed and deleted.
 * Returns the file's path (for a test that looks at it with `bun:sqlite`).
 */
export function useTestDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), "app-test-db-"));
  const file = join(dir, "app.db");
  beforeAll(async () => {
    await closeDb(Date.now() + 1000); // another file's database, when Bun runs files in one process
    const target = parseDatabaseUrl(`sqlite://${file}`) as Target;
    await migrate(target);
    await openDb(target, { max: 1, applicationName: "test" });
  });
  afterAll(async () => {
    await closeDb(Date.now() + 1000);
    rmSync(dir, { recursive: true, force: true });
  });
  return file;
}
