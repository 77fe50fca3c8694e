/**
 * One database client per process (Bun's built-in SQL, for SQLite and PostgreSQL alike): open,
 * query, transactions, close. Every query goes through `query()` or `transaction()`, which count
 * queries and errors and turn "the database is unreachable" into DatabaseUnavailable (503).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SQL } from "bun";
import type { Target } from "./url.ts";

export type Dialect = Target["dialect"];

/** The database cannot be reached (down, restarting, network): answer 503, retry later. */
export class DatabaseUnavailable extends Error {
  readonly code = "DB_UNAVAILABLE";
}

/** How long a SQLite client waits for another process's lock (busy_timeout, and the pragmas). */
const SQLITE_BUSY_WAIT_MS = 5000;

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock (not a broken database). */
function isBusy(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return /SQLITE_(BUSY|LOCKED)/.test(String(code)) || /database is locked/.test(String(message));
}

/** SQLite settings for several writer processes on one file (what Rails 8 and Litestack use). */
export const SQLITE_PRAGMAS = [
  // A writer waits up to 5 s for another process's write lock instead of failing with SQLITE_BUSY
  // (first: switching to WAL below takes a lock too).
  `busy_timeout = ${SQLITE_BUSY_WAIT_MS}`,
  // Readers never block the writer and the writer never blocks readers; set once, it persists.
  "journal_mode = WAL",
  // With WAL: durable at checkpoints, no fsync per commit; a power cut can lose the last commits,
  // never corrupt the file.
  "synchronous = NORMAL",
  "foreign_keys = ON",
];

/**
 * Error codes that mean "not reachable" rather than "this query is wrong". PostgreSQL's class 08
 * (connection exception) and 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now)
 * are what a restarting server answers.
 */
function unreachable(error: unknown): boolean {
  const { code, errno } = error as { code?: string; errno?: string };
  if (typeof code === "string") {
    if (code.startsWith("ERR_POSTGRES_CONNECTION") || code === "ERR_POSTGRES_IDLE_TIMEOUT")
      return true;
    if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"].includes(code))
      return true;
    if (code === "SQLITE_CANTOPEN" || code === "SQLITE_IOERR") return true;
  }
  if (typeof errno === "string" && (errno.startsWith("08") || /^57P0[123]$/.test(errno)))
    return true;
  return false;
}

/** A one-at-a-time lock: the per-process transaction guard on SQLite. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => {},
      () => {},
    );
    return result;
  }
}

export interface OpenOptions {
  /** PostgreSQL: this process's pool size (its share of DB_MAX_CONNECTIONS). */
  max: number;
  /** PostgreSQL: the session's application_name (which process it belongs to). */
  applicationName: string;
  /** SQLite: off only for the test that shows what the guard prevents. */
  guard?: boolean;
  /** Where an outage is reported: once when it begins, once when it ends. */
  log?: { warn(message: string): void; info(message: string): void };
}

export interface DbStats {
  queries: number;
  errors: number;
}

/** A process's database client. */
export class Db {
  readonly sql: SQL;
  readonly stats: DbStats = { queries: 0, errors: 0 };
  /** Bun.SQL on SQLite is one connection: a query issued while another request's transaction
   * is open would run inside it (and be rolled back with it). Everything waits its turn. */
  readonly #guard: Mutex | null;
  #openError: unknown = null;
  /** In an outage: the database was unreachable at the last query (logged once). */
  #down = false;
  readonly #log: OpenOptions["log"];

  constructor(
    readonly target: Target,
    options: OpenOptions,
  ) {
    this.#log = options.log;
    if (target.dialect === "sqlite") {
      try {
        mkdirSync(dirname(target.file), { recursive: true });
      } catch (error) {
        this.#openError = error; // reported by check(), in the one line that names the file
      }
      this.sql = new SQL({ adapter: "sqlite", filename: target.file });
      this.#guard = options.guard === false ? null : new Mutex();
    } else {
      this.sql = new SQL({
        url: target.url,
        max: options.max,
        // Off with ?prepare=false: a transaction pooler hands each transaction to any server
        // connection, where another client's statement may already hold the name.
        prepare: target.prepare,
        connectionTimeout: 5,
        connection: { application_name: options.applicationName.slice(0, 63) },
      });
      this.#guard = null;
    }
  }

  get dialect(): Dialect {
    return this.target.dialect;
  }

  /** Opens and checks the connection (`select 1`); SQLite gets its pragmas. Throws naming it. */
  async check(): Promise<void> {
    try {
      if (this.#openError) throw this.#openError;
      if (this.target.dialect === "sqlite") {
        for (const pragma of SQLITE_PRAGMAS) await this.#pragma(pragma);
      }
      await this.sql`select 1`;
    } catch (error) {
      const hint = preparedConflict(error);
      throw new DatabaseUnavailable(
        hint
          ? `database ${this.dialect} ${this.target.shown}: ${hint}`
          : `database ${this.dialect} ${this.target.shown} is not reachable: ${describe(error, this.target)}`,
      );
    }
  }

  /**
   * Sets one pragma, retrying while another process holds the lock: switching a fresh file to
   * WAL needs it exclusively, and SQLite answers SQLITE_BUSY there without calling the busy
   * handler (two fleets, or a fleet and `bun run migrate`, opening one new file at once).
   */
  async #pragma(pragma: string): Promise<void> {
    const deadline = performance.now() + SQLITE_BUSY_WAIT_MS;
    for (;;) {
      try {
        await this.sql.unsafe(`PRAGMA ${pragma}`);
        return;
      } catch (error) {
        if (!isBusy(error) || performance.now() > deadline) throw error;
        await Bun.sleep(5 + Math.random() * 20);
      }
    }
  }

  /** Runs `fn` with the client (counted; unreachable → DatabaseUnavailable). */
  query<T>(fn: (sql: SQL) => Promise<T>): Promise<T> {
    return this.#run(() => fn(this.sql));
  }

  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. On SQLite
   * it is `BEGIN IMMEDIATE` (the write lock first, so a read-then-write never fails with
   * SQLITE_BUSY halfway: busy_timeout applies) and the only thing this process runs meanwhile.
   */
  transaction<T>(fn: (tx: SQL) => Promise<T>): Promise<T> {
    const body = (tx: SQL) => fn(tx);
    return this.#run(() =>
      this.dialect === "sqlite"
        ? (this.sql.begin("immediate", body) as Promise<T>)
        : (this.sql.begin(body) as Promise<T>),
    );
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    this.stats.queries += 1;
    try {
      const result = await (this.#guard ? this.#guard.run(fn) : fn());
      if (this.#down) {
        this.#down = false;
        this.#log?.info(`database ${this.dialect} ${this.target.shown} is reachable again`);
      }
      return result;
    } catch (error) {
      this.stats.errors += 1;
      if (unreachable(error)) {
        const message = `database ${this.dialect} ${this.target.shown} is not reachable: ${describe(error, this.target)}`;
        if (!this.#down) {
          this.#down = true;
          this.#log?.warn(`${message}; answering 503 until it is back`);
        }
        throw new DatabaseUnavailable(message);
      }
      throw error;
    }
  }

  /**
   * Closes the client by `deadline` (epoch ms): `close()` is raced against the time left, since
   * it can fail to settle (oven-sh/bun #42804) and ignores its timeout on SQLite. True when it
   * closed in time.
   */
  async close(deadline: number): Promise<boolean> {
    const left = Math.max(0, deadline - Date.now());
    const closed = this.sql.close({ timeout: Math.max(0, Math.floor(left / 1000) - 1) }).then(
      () => true,
      () => true,
    );
    // A timer, not Bun.sleep: cleared once closed, so it does not hold the process open.
    let timer: Timer | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), left);
    });
    try {
      return await Promise.race([closed, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * What to do about a prepared-statement conflict, or null for any other error. Behind a
 * transaction pooler (PgBouncer's pool_mode = transaction) named statements land on server
 * connections that other clients share: `prepared statement "P0" already exists` (42P05), or
 * "does not exist" (26000), or a bind that does not match another client's statement.
 */
export function preparedConflict(error: unknown): string | null {
  const { errno, message } = (error ?? {}) as { errno?: unknown; message?: unknown };
  const text = String(message);
  const conflict =
    errno === "42P05" ||
    (errno === "26000" && /prepared statement/.test(text)) ||
    /prepared statement "[^"]*" (already exists|does not exist|requires)/.test(text);
  if (!conflict) return null;
  return `${text}${errno ? ` (${String(errno)})` : ""}: a transaction pooler (PgBouncer in transaction mode) is in between; set ?prepare=false on DATABASE_URL`;
}

/** An error's message without the password of the URL it may quote. */
export function describe(error: unknown, target: Target): string {
  let text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  if (code && !text.includes(code)) text = `${text} (${code})`;
  if (target.dialect === "postgres") {
    try {
      const password = decodeURIComponent(new URL(target.url).password);
      if (password) text = text.replaceAll(password, "***");
    } catch {
      // not a URL: nothing to hide
    }
  }
  return text;
}
