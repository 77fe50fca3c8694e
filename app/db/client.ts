/**
 * One database client per process: open, query, transactions, close. PostgreSQL through Bun's
 * SQL client; SQLite through bun:sqlite behind the same calls (sqlite.ts). Every query goes
 * through `query()` or `transaction()`, which count queries and errors, bound each one by the
 * statement timeout, and turn every refusal (down, full, a pooler's refusal, a timeout, a lock
 * still held) into DatabaseUnavailable (503 with Retry-After).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SQL } from "bun";
import { type Refusal, refusal } from "./refusal.ts";
import { isBusy, openSqlite, type SqliteSql } from "./sqlite.ts";
import type { Target } from "./url.ts";

export type Dialect = Target["dialect"];

/** The database refused or could not answer in time: answer 503, retry after `retryAfterS`. */
export class DatabaseUnavailable extends Error {
  readonly code = "DB_UNAVAILABLE";
  constructor(
    message: string,
    readonly retryAfterS = 5,
  ) {
    super(message);
  }
}

/** The statement timeout when none is given (DB_STATEMENT_TIMEOUT_MS's default). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;

/** Outages that end and begin again within this long are one outage in the log. */
const FLAP_MERGE_MS = 1000;

/** SQLite settings for several writer processes on one file (what Rails 8 and Litestack use). */
export const SQLITE_PRAGMAS = [
  // No wait in SQLite's busy handler, which would sleep on the event loop: a writer that meets
  // another process's write lock retries asynchronously (sqlite.ts).
  "busy_timeout = 0",
  // Readers never block the writer and the writer never blocks readers; set once, it persists.
  "journal_mode = WAL",
  // With WAL: durable at checkpoints, no fsync per commit; a power cut can lose the last commits,
  // never corrupt the file.
  "synchronous = NORMAL",
  "foreign_keys = ON",
];

export interface OpenOptions {
  /** PostgreSQL: this process's pool size (its share of DB_MAX_CONNECTIONS). */
  max: number;
  /** PostgreSQL: the session's application_name (which process it belongs to). */
  applicationName: string;
  /**
   * Each `query()` / `transaction()` is cut after this long (503): on PostgreSQL the client
   * cancels its statements (a cancel request, which works through PgBouncer too); on SQLite it
   * bounds the wait for another process's write lock. 0: no limit. Default 5000.
   */
  statementTimeoutMs?: number;
  /** SQLite: off only for the test that shows what the guard prevents. */
  guard?: boolean;
  /** Where an outage is reported: once when it begins, once when it ends. */
  log?: { warn(message: string): void; info(message: string): void };
}

export interface DbStats {
  queries: number;
  errors: number;
}

type Cancelable = { cancel(): unknown };

/**
 * `sql` as handed to one query: every statement it makes is kept in `issued`, to be cancelled
 * when the statement timeout runs out.
 */
function watched(sql: SQL, issued: Cancelable[]): SQL {
  const keep = (result: unknown) => {
    if (typeof (result as Cancelable | null)?.cancel === "function")
      issued.push(result as Cancelable);
    return result;
  };
  return new Proxy(sql, {
    apply: (target, self, args) => keep(Reflect.apply(target, self, args)),
    get: (target, key) => {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => keep(Reflect.apply(value, target, args));
    },
  });
}

/** A process's database client. */
export class Db {
  /**
   * The client itself, for migrations and the like. On PostgreSQL Bun's SQL; on SQLite a
   * bun:sqlite facade with the tagged template, `unsafe`, `begin` and `close` (sqlite.ts), typed
   * as SQL so code reads the same on both.
   */
  readonly sql: SQL;
  readonly stats: DbStats = { queries: 0, errors: 0 };
  readonly #timeoutMs: number;
  #openError: unknown = null;
  /** In an outage: the last query was refused (logged once when it began). */
  #down = false;
  #downSince = 0;
  #refusals = 0;
  /** The "reachable again" line waits FLAP_MERGE_MS: an outage that comes back is the same one. */
  #recovered: Timer | undefined;
  readonly #log: OpenOptions["log"];
  /** SQLite: the client as `query()` hands it, counting and mapping each statement itself. */
  #reporting: SqliteSql | null = null;

  constructor(
    readonly target: Target,
    options: OpenOptions,
  ) {
    this.#log = options.log;
    this.#timeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    if (target.dialect === "sqlite") {
      try {
        mkdirSync(dirname(target.file), { recursive: true });
      } catch (error) {
        this.#openError = error; // reported by check(), in the one line that names the file
      }
      const client = openSqlite(target.file, {
        lockWaitMs: this.#timeoutMs || DEFAULT_STATEMENT_TIMEOUT_MS,
        guard: options.guard !== false,
      });
      this.sql = client as unknown as SQL;
      this.#reporting = client.reporting({ answered: this.#reachable, failed: this.#failed });
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
    }
  }

  get dialect(): Dialect {
    return this.target.dialect;
  }

  /**
   * Opens and checks the connection (`select 1`); SQLite gets its pragmas. Throws one line
   * saying what happened (refused, authentication failed, too many clients, the pooler, timed
   * out), never the password.
   */
  async check(): Promise<void> {
    try {
      if (this.#openError) throw this.#openError;
      if (this.target.dialect === "sqlite") {
        for (const pragma of SQLITE_PRAGMAS) await this.#pragma(pragma);
      }
      await this.sql`select 1`;
    } catch (error) {
      const hint = preparedConflict(error);
      if (hint)
        throw new DatabaseUnavailable(`database ${this.dialect} ${this.target.shown}: ${hint}`);
      const kind = refusal(error);
      throw new DatabaseUnavailable(this.#line(error, kind), kind?.retryAfterS);
    }
  }

  /**
   * Sets one pragma, retrying while another process holds the lock: switching a fresh file to
   * WAL needs it exclusively (two fleets, or a fleet and `bun run migrate`, opening one new file
   * at once).
   */
  async #pragma(pragma: string): Promise<void> {
    const deadline = performance.now() + DEFAULT_STATEMENT_TIMEOUT_MS;
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

  /**
   * Runs `fn` with the client (counted; bounded by the statement timeout; refusals → 503) and
   * returns its promise.
   *
   * With `then`, returns `then(value)`: **at once, without a promise**, when `fn`'s promise has
   * already settled by the time it returns (SQLite answers a statement in place), and otherwise
   * a promise of it (PostgreSQL; a SQLite statement waiting for another request's transaction;
   * a refusal, which rejects as without `then`). A route that returns
   * `db().query(fn, (rows) => c.json(…))` answers a SQLite read synchronously: no promise in
   * the route, in Hono, around the app or in the fleet (app/db/README.md, with the figures).
   */
  query<T>(fn: (sql: SQL) => Promise<T>): Promise<T>;
  query<T, R>(fn: (sql: SQL) => Promise<T>, then: (value: T) => R): R | Promise<Awaited<R>>;
  query<T, R>(fn: (sql: SQL) => Promise<T>, then?: (value: T) => R): unknown {
    const result = this.#query(fn);
    if (!then) return result;
    // Bun.peek: the value of a promise that has already settled, read without waiting a turn.
    if (Bun.peek.status(result) === "fulfilled") return then(Bun.peek(result) as T);
    return result.then(then);
  }

  #query<T>(fn: (sql: SQL) => Promise<T>): Promise<T> {
    if (this.#reporting) {
      // SQLite: the statements settle already counted and mapped, so a point select costs no
      // promise hop here (see #run).
      this.stats.queries += 1;
      try {
        return fn(this.#reporting as unknown as SQL);
      } catch (error) {
        return Promise.reject(this.#failed(error));
      }
    }
    return this.#run(() => this.#bounded((issued) => fn(watched(this.sql, issued))));
  }

  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. On SQLite
   * it is `BEGIN IMMEDIATE` (the write lock first, so a read-then-write never fails halfway) and
   * no other request's statement runs while it is open.
   */
  transaction<T>(fn: (tx: SQL) => Promise<T>): Promise<T> {
    if (this.dialect === "sqlite") {
      return this.#run(() => this.sql.begin("immediate", (tx) => fn(tx)) as Promise<T>);
    }
    return this.#run(() =>
      this.#bounded((issued) => this.sql.begin((tx) => fn(watched(tx, issued))) as Promise<T>),
    );
  }

  /** PostgreSQL: `run` cut after the statement timeout, its statements cancelled. */
  #bounded<T>(run: (issued: Cancelable[]) => Promise<T>): Promise<T> {
    const issued: Cancelable[] = [];
    const result = run(issued);
    if (!this.#timeoutMs) return result;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        for (const statement of issued) {
          try {
            statement.cancel(); // a no-op for one that has finished
          } catch {
            // already settled
          }
        }
        reject(
          Object.assign(new Error(`statement timeout (${this.#timeoutMs} ms)`), { errno: "57014" }),
        );
      }, this.#timeoutMs);
      result.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * Counts the query and turns a refusal into DatabaseUnavailable. One `then` with handlers bound
   * once (no async function, no closure per query): this wraps every query, and on SQLite a
   * point select is ~1 µs, so each promise hop here is a visible share of a request.
   */
  #run<T>(fn: () => Promise<T>): Promise<T> {
    this.stats.queries += 1;
    let result: Promise<T>;
    try {
      result = fn();
    } catch (error) {
      return Promise.reject(this.#failed(error));
    }
    return result.then(this.#answered as (value: T) => T, this.#rejected);
  }

  readonly #answered = (value: unknown) => {
    this.#reachable();
    return value;
  };

  /** A query was answered: an outage, if one was on, is over. */
  readonly #reachable = (): void => {
    if (this.#down) this.#up();
  };

  readonly #rejected = (error: unknown): never => {
    throw this.#failed(error);
  };

  /**
   * What a failed query throws: a refusal becomes DatabaseUnavailable (logged once per outage);
   * one already mapped (a SQLite statement inside a transaction) passes as it is.
   */
  readonly #failed = (error: unknown): unknown => {
    if (error instanceof DatabaseUnavailable) return error;
    this.stats.errors += 1;
    const kind = refusal(error);
    if (!kind) return error;
    const message = this.#line(error, kind);
    this.#refused(message);
    return new DatabaseUnavailable(message, kind.retryAfterS);
  };

  /** One line naming the database and what happened, never the password. */
  #line(error: unknown, kind: Refusal | null): string {
    const what = kind ? `${kind.state}: ${kind.what}` : "is not reachable";
    return `database ${this.dialect} ${this.target.shown} ${what}: ${describe(error, this.target)}`;
  }

  /** A refusal: the first of an outage is logged, the rest counted. */
  #refused(message: string): void {
    this.#refusals += 1;
    if (this.#down) return;
    this.#down = true;
    if (this.#recovered) {
      // Back for less than FLAP_MERGE_MS: the same outage goes on, unlogged.
      clearTimeout(this.#recovered);
      this.#recovered = undefined;
      return;
    }
    this.#downSince = performance.now();
    this.#refusals = 1;
    this.#log?.warn(`${message}; answering 503 until it is back`);
  }

  /** A success after refusals: the outage's end is logged once it has held FLAP_MERGE_MS. */
  #up(): void {
    this.#down = false;
    clearTimeout(this.#recovered);
    this.#recovered = setTimeout(() => {
      this.#recovered = undefined;
      const seconds = ((performance.now() - this.#downSince) / 1000).toFixed(1);
      this.#log?.info(
        `database ${this.dialect} ${this.target.shown} is reachable again (${this.#refusals} refused over ${seconds} s)`,
      );
    }, FLAP_MERGE_MS);
    this.#recovered.unref();
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
