/**
 * Migrations: `app/db/migrations/NNNN_name.sql` (portable SQL), or `NNNN_name.sqlite.sql` /
 * `NNNN_name.postgres.sql` where the dialects differ (the dialect's own file wins). Applied in
 * version order, each file in its own transaction, recorded in `schema_migrations` (version,
 * name, checksum, applied_at). Two processes migrating one database at once take turns: each
 * migration's transaction first takes the lock, then checks again whether that version is
 * applied. On PostgreSQL the lock is a transaction-scoped advisory lock
 * (`pg_advisory_xact_lock`, so it holds through a transaction pooler such as PgBouncer and is
 * released with the transaction, or with the session of a process that died), waited for at most
 * DB_LOCK_TIMEOUT_MS; on SQLite it is the write lock of `BEGIN IMMEDIATE`.
 *
 * Runs in `setup` (once, before any worker starts) and in `bun run migrate`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join, relative } from "node:path";
import type { SQL } from "bun";
import { Db, preparedConflict } from "./client.ts";
import type { Target } from "./url.ts";

/** The migrations folder (kept at this path: the one-file build embeds it from here). */
export const MIGRATIONS_DIR = join(import.meta.dir, "migrations");

/** Any advisory-lock key will do as long as every fleet of this app uses the same one. */
export const LOCK_KEY = 7_301_042_014;
/** pg_locks shows a bigint advisory key as classid (high 32 bits), objid (low 32), objsubid 1. */
const HOLDER = `select l.pid, coalesce(a.application_name, '') as application_name,
    host(a.client_addr) as client_addr
  from pg_locks l left join pg_stat_activity a on a.pid = l.pid
  where l.locktype = 'advisory' and l.granted and l.objsubid = 1
    and l.database = (select oid from pg_database where datname = current_database())
    and l.classid = ${Math.floor(LOCK_KEY / 2 ** 32)} and l.objid = ${LOCK_KEY % 2 ** 32}
    and l.pid <> pg_backend_pid()`;

/** How long a start or `bun run migrate` waits for the lock by default (DB_LOCK_TIMEOUT_MS). */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
/** While waiting for the lock: one line at once, then one every this often. */
const LOCK_LOG_EVERY_MS = 5000;

const FILE = /^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$/;

/** A migration stops the start: the file names it; `code` marks an expected failure (exit 3). */
export class MigrationError extends Error {
  readonly code = "MIGRATION_FAILED";
}

export interface Migration {
  version: number;
  name: string;
  /** The file applied for this dialect, and its text. */
  file: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  version: number;
  name: string;
  file: string | null;
  state: "applied" | "pending" | "changed" | "missing";
  appliedAt: string | null;
}

/** The project root: migration files are named from here (app/db/migrations/0001_todos.sql). */
const ROOT = join(import.meta.dir, "..", "..");
const shown = (file: string) => {
  const path = relative(ROOT, file);
  return path.startsWith("..") ? file : path;
};

function checksum(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

/**
 * Where migrations come from: a folder, or the files themselves (`{ path, text }`, e.g. files
 * embedded in a one-file build, whose paths end in app/db/migrations/NNNN_name.sql).
 */
export type MigrationSource = string | MigrationFile[];
type MigrationFile = { path: string; text: string };

function readSource(source: MigrationSource): MigrationFile[] {
  if (typeof source !== "string") return source;
  return readdirSync(source)
    .filter((entry) => entry.endsWith(".sql"))
    .map((entry) => ({
      path: join(source, entry),
      text: readFileSync(join(source, entry), "utf8"),
    }));
}

/** The migrations for `dialect`, in version order. Throws on a misnamed or duplicate file. */
export function loadMigrations(
  dialect: Target["dialect"],
  source: MigrationSource = MIGRATIONS_DIR,
): Migration[] {
  const byVersion = new Map<
    number,
    { name: string; portable?: MigrationFile; own?: MigrationFile }
  >();
  const files = readSource(source).sort((a, b) => basename(a.path).localeCompare(basename(b.path)));
  for (const entry of files) {
    const match = FILE.exec(basename(entry.path));
    if (!match) {
      throw new MigrationError(
        `${shown(entry.path)}: a migration is named NNNN_name.sql (or NNNN_name.sqlite.sql / NNNN_name.postgres.sql)`,
      );
    }
    const [, v, name, variant] = match as unknown as [string, string, string, string?];
    const version = Number(v);
    const slot = byVersion.get(version) ?? { name };
    if (slot.name !== name) {
      throw new MigrationError(
        `${shown(entry.path)}: version ${v} is already taken by ${slot.name}`,
      );
    }
    if (!variant) slot.portable = entry;
    else if (variant === dialect) slot.own = entry;
    byVersion.set(version, slot);
  }
  const migrations: Migration[] = [];
  for (const [version, slot] of [...byVersion].sort((a, b) => a[0] - b[0])) {
    const entry = slot.own ?? slot.portable;
    if (!entry) continue; // only the other dialect's variant: nothing to do here
    migrations.push({
      version,
      name: slot.name,
      file: entry.path,
      sql: entry.text,
      checksum: checksum(entry.text),
    });
  }
  return migrations;
}

type Applied = { version: number; name: string; checksum: string; applied_at: string };

const CREATE_TABLE = `create table if not exists schema_migrations (
  version integer primary key,
  name text not null,
  checksum text not null,
  applied_at text not null
)`;

async function appliedRows(sql: SQL): Promise<Map<number, Applied>> {
  const rows = (await sql`
    select version, name, checksum, applied_at from schema_migrations order by version`) as Applied[];
  return new Map(rows.map((row) => [Number(row.version), row]));
}

function checkUnchanged(migration: Migration, applied: Applied | undefined): void {
  if (applied && applied.checksum !== migration.checksum) {
    throw new MigrationError(
      `${shown(migration.file)} was changed after it was applied (checksum ${applied.checksum.slice(0, 12)} recorded, ${migration.checksum.slice(0, 12)} now): add a new migration instead of editing an applied one`,
    );
  }
}

/** Opens a one-connection client for migrating (and closes it when `fn` is done). */
async function withClient<T>(target: Target, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = new Db(target, {
    max: 1,
    applicationName: `bun-fleet migrate ${hostname()} pid ${process.pid}`,
  });
  try {
    await db.check();
    return await fn(db);
  } catch (error) {
    const hint = preparedConflict(error);
    if (hint) throw new MigrationError(`database ${target.dialect} ${target.shown}: ${hint}`);
    throw error;
  } finally {
    await db.close(Date.now() + 5000);
  }
}

export interface MigrateOptions {
  dir?: MigrationSource;
  log?: (line: string) => void;
  /** How long to wait for the migration lock (DB_LOCK_TIMEOUT_MS), then MigrationError. */
  lockTimeoutMs?: number;
}

/** Who holds the migration lock (PostgreSQL): its server pid and, in words, who it is. */
async function lockHolder(sql: SQL): Promise<{ pid: number; text: string } | null> {
  const [row] = (await sql.unsafe(HOLDER)) as {
    pid: number;
    application_name: string;
    client_addr: string | null;
  }[];
  if (!row) return null;
  const name = row.application_name ? ` "${row.application_name}"` : "";
  const from = row.client_addr ? ` from ${row.client_addr}` : "";
  return { pid: row.pid, text: `pid ${row.pid}${name}${from}` };
}

/**
 * Takes the migration lock for the transaction `tx` (PostgreSQL): polls
 * `pg_try_advisory_xact_lock`, logging who holds it (at once, then every few seconds), and
 * throws MigrationError naming the holder after `timeoutMs`. Released when `tx` ends.
 */
async function takeLock(tx: SQL, timeoutMs: number, log: (line: string) => void): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let nextLog = 0;
  for (let pace = 10; ; pace = Math.min(pace * 2, 200)) {
    const [row] = (await tx.unsafe(`select pg_try_advisory_xact_lock(${LOCK_KEY}) as ok`)) as {
      ok: boolean;
    }[];
    if (row?.ok) return;
    // Null when the holder let go between the two queries (the next try gets it).
    const holder = await lockHolder(tx);
    const now = performance.now();
    if (now >= deadline && (holder || now >= deadline + LOCK_LOG_EVERY_MS)) {
      const who = holder
        ? `${holder.text} (end it with: select pg_terminate_backend(${holder.pid}))`
        : "a session that could not be seen";
      throw new MigrationError(
        `the migration lock is still held after DB_LOCK_TIMEOUT_MS=${timeoutMs} by ${who}: another start or bun run migrate is migrating this database, or that session hangs`,
      );
    }
    if (holder && now >= nextLog) {
      log(
        `waiting for the migration lock, held by ${holder.text} (at most DB_LOCK_TIMEOUT_MS=${timeoutMs})`,
      );
      nextLog = now + LOCK_LOG_EVERY_MS;
    }
    await Bun.sleep(pace);
  }
}

/**
 * Applies the pending migrations; returns the ones this call applied (another process may have
 * applied the rest). Throws MigrationError naming the file that changed or failed, or the
 * holder of a lock that stayed taken past `lockTimeoutMs`.
 */
export async function migrate(
  target: Target,
  options: MigrateOptions = {},
): Promise<{ applied: Migration[]; maxConnections: number | null }> {
  const migrations = loadMigrations(target.dialect, options.dir);
  const log = options.log ?? (() => {});
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  return withClient(target, async (db) => {
    const { sql } = db;
    const done: Migration[] = [];
    if (target.dialect === "postgres") {
      // Each step is one transaction that takes the lock first: a transaction pooler runs a
      // transaction on one server connection, and the lock ends with it (no unlock to lose).
      const locked = <T>(fn: (tx: SQL) => Promise<T>) =>
        sql.begin(async (tx) => {
          await takeLock(tx, lockTimeoutMs, log);
          return fn(tx);
        }) as Promise<T>;
      const [present] = (await sql.unsafe(
        "select to_regclass('schema_migrations') is not null as yes",
      )) as { yes: boolean }[];
      // Created under the lock too: two `create table if not exists` at once can collide.
      if (!present?.yes) await locked((tx) => tx.unsafe(CREATE_TABLE));
      const before = present?.yes ? await appliedRows(sql) : new Map<number, Applied>();
      for (const migration of migrations) {
        checkUnchanged(migration, before.get(migration.version));
        if (before.has(migration.version)) continue; // applied already: no lock needed
        const appliedNow = await locked(async (tx) => {
          // Under the lock: another process may have applied it a moment ago.
          const applied = await appliedRows(tx);
          checkUnchanged(migration, applied.get(migration.version));
          if (applied.has(migration.version)) return false;
          await runFile(tx, migration);
          return true;
        });
        if (appliedNow) {
          log(`applied ${shown(migration.file)}`);
          done.push(migration);
        }
      }
      const applied = await appliedRows(sql);
      for (const migration of migrations) checkUnchanged(migration, applied.get(migration.version));
      return { applied: done, maxConnections: await serverMaxConnections(sql) };
    }
    // SQLite: the write lock (BEGIN IMMEDIATE) is the migration lock; wait for it as long.
    await sql.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`);
    await sql.begin("immediate", (tx) => tx.unsafe(CREATE_TABLE));
    for (const migration of migrations) {
      const appliedNow = await sql.begin("immediate", async (tx) => {
        // Inside the write lock: another process may have applied it a moment ago.
        const applied = await appliedRows(tx);
        checkUnchanged(migration, applied.get(migration.version));
        if (applied.has(migration.version)) return false;
        await runFile(tx, migration);
        return true;
      });
      if (appliedNow) {
        log(`applied ${shown(migration.file)}`);
        done.push(migration);
      }
    }
    // The migrations already applied must still match their files.
    const applied = await appliedRows(sql);
    for (const migration of migrations) checkUnchanged(migration, applied.get(migration.version));
    return { applied: done, maxConnections: null };
  });
}

async function runFile(tx: SQL, migration: Migration): Promise<void> {
  try {
    await tx.unsafe(migration.sql);
  } catch (error) {
    throw new MigrationError(
      `${shown(migration.file)} failed, rolled back (nothing after it applied): ${(error as Error).message}`,
    );
  }
  await tx`insert into schema_migrations (version, name, checksum, applied_at)
           values (${migration.version}, ${migration.name}, ${migration.checksum}, ${new Date().toISOString()})`;
}

/** Every migration known to the files or the database, with its state (`bun run migrate --status`). */
export async function migrationStatus(
  target: Target,
  dir: MigrationSource = MIGRATIONS_DIR,
): Promise<MigrationStatus[]> {
  const migrations = loadMigrations(target.dialect, dir);
  return withClient(target, async ({ sql }) => {
    // Read-only: a database never migrated has no schema_migrations yet (everything pending).
    const [present] = (await sql.unsafe(
      target.dialect === "postgres"
        ? "select to_regclass('schema_migrations') is not null as yes"
        : "select count(*) > 0 as yes from sqlite_master where type = 'table' and name = 'schema_migrations'",
    )) as { yes: unknown }[];
    const applied = present?.yes ? await appliedRows(sql) : new Map<number, Applied>();
    const rows: MigrationStatus[] = migrations.map((m) => {
      const row = applied.get(m.version);
      const state = !row ? "pending" : row.checksum === m.checksum ? "applied" : "changed";
      return {
        version: m.version,
        name: m.name,
        file: m.file,
        state,
        appliedAt: row?.applied_at ?? null,
      };
    });
    for (const [version, row] of applied) {
      if (!migrations.some((m) => m.version === version)) {
        rows.push({
          version,
          name: row.name,
          file: null,
          state: "missing",
          appliedAt: row.applied_at,
        });
      }
    }
    return rows.sort((a, b) => a.version - b.version);
  });
}

/** PostgreSQL's `max_connections` (for the budget check in setup). */
export async function serverMaxConnections(sql: SQL): Promise<number> {
  const [row] = (await sql`show max_connections`) as { max_connections: string }[];
  return Number(row?.max_connections);
}
