/**
 * The template's database module: this process's client (`db()`), opened in each worker's
 * `onStart` and closed in `onShutdown`; migrations run once in `setup`, at start.
 * See README "Database".
 */
import type { AppConfig } from "../config.ts";
import { Db } from "./client.ts";
import { parseDatabaseUrl, type Target } from "./url.ts";

export { DatabaseUnavailable, Db } from "./client.ts";

let current: Db | null = null;

/** Where DATABASE_URL points (already checked by the primary, so this does not fail). */
export function databaseTarget(config: Pick<AppConfig, "DATABASE_URL">): Target {
  const target = parseDatabaseUrl(config.DATABASE_URL);
  if ("error" in target) throw new Error(`DATABASE_URL ${target.error}`);
  return target;
}

/** Opens this process's client and checks it (`select 1`); a database that is down throws. */
export async function openDb(target: Target, options: ConstructorParameters<typeof Db>[1]) {
  const db = new Db(target, options);
  try {
    await db.check();
  } catch (error) {
    await db.close(Date.now() + 1000);
    throw error;
  }
  current = db;
  return db;
}

/** This process's client; throws before `openDb` (a route that runs before onStart is a bug). */
export function db(): Db {
  if (!current) {
    throw new Error(
      "the database is not open yet (openDb runs in onStart; a test calling routes through app.request() calls useTestDatabase() from test/app/database.ts)",
    );
  }
  return current;
}

/** This process's client, or null when it has none (status, metrics). */
export function dbIfOpen(): Db | null {
  return current;
}

/** Closes this process's client by `deadline` (epoch ms); true when it closed in time. */
export async function closeDb(deadline: number): Promise<boolean> {
  const closing = current;
  current = null;
  return closing ? closing.close(deadline) : true;
}
