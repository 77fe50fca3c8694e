/**
 * SQLite through `bun:sqlite` (~1 µs a point select, against ~10 µs through Bun.SQL's async
 * client), behind the slice of Bun.SQL's API the app uses, so routes, migrations and jobs read
 * the same on both databases:
 *
 *   sql`select … where id = ${id}`   a prepared statement per call site (cached by its
 *                                     TemplateStringsArray), parameters bound, rows as objects;
 *   sql.unsafe(text, values?)        DDL, pragmas, a multi-statement migration file;
 *   sql.begin([mode,] async (tx) => …) BEGIN IMMEDIATE … COMMIT (ROLLBACK when `fn` throws).
 *
 * Parameters are scalars: string, number, bigint, boolean (bound as 1/0), null/undefined, Date
 * (bound as ISO text), Uint8Array. Bun.SQL's helpers (`sql(object)`, `sql.array`) are not there.
 *
 * Lock waits never block the event loop: busy_timeout is 0, and a statement or BEGIN IMMEDIATE
 * that meets another process's write lock (SQLITE_BUSY) is retried at the next turns of the
 * event loop, then with a growing sleep, until `lockWaitMs`, then fails with SqliteBusy. One connection per process: while a transaction is
 * open, a statement issued outside it (another request's) waits until it ends instead of running
 * inside it; transactions take turns.
 */
import { Database, type Statement } from "bun:sqlite";

/**
 * Lock retries at the next turn of the event loop before the sleeps begin: cheap (no timer),
 * and most of another process's write transactions end within them.
 */
const QUICK_RETRIES = 8;

/** The write lock was still held by another connection after the whole wait. */
export class SqliteBusy extends Error {
  readonly code = "SQLITE_BUSY";
}

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock (not a broken database). */
export function isBusy(error: unknown): boolean {
  const { code, message } = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
  };
  return /SQLITE_(BUSY|LOCKED)/.test(String(code)) || /database is locked/.test(String(message));
}

type Row = Record<string, unknown>;
/** Rows, plus how many rows a statement without result columns changed (Bun.SQL's `count`). */
export type Rows = Row[] & { count?: number };
type Binding = string | number | bigint | boolean | null | Uint8Array;

export interface SqliteSql {
  <T = Rows>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T>;
  unsafe<T = Rows>(text: string, values?: unknown[]): Promise<T>;
}

export interface SqliteClient extends SqliteSql {
  begin<T>(fn: (tx: SqliteSql) => Promise<T>): Promise<T>;
  begin<T>(mode: string, fn: (tx: SqliteSql) => Promise<T>): Promise<T>;
  close(options?: { timeout?: number }): Promise<void>;
  /**
   * The same client, outside any transaction, telling `outcome` how each statement ended: its
   * promise settles already answered or already mapped, so the caller needs no `then` of its
   * own (each promise hop is a visible share of a ~1 µs point select).
   */
  reporting(outcome: Outcome): SqliteSql;
}

/** How a `reporting` client's statements end: `failed` returns what the statement rejects with. */
export interface Outcome {
  answered(): void;
  failed(error: unknown): unknown;
}

function bindable(value: unknown): Binding {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  const type = typeof value;
  if (
    value === null ||
    type === "string" ||
    type === "number" ||
    type === "bigint" ||
    type === "boolean" ||
    value instanceof Uint8Array
  )
    return value as Binding;
  throw new TypeError(
    `a SQLite parameter is a string, number, bigint, boolean, null, Date or Uint8Array, not ${type === "object" ? "an object" : type}`,
  );
}

/** A prepared statement, and whether it has result columns (asked once: it is not free). */
type Prepared = { statement: Statement; rows: boolean };

function prepare(db: Database, text: string): Prepared {
  const statement = db.prepare(text);
  return { statement, rows: statement.columnNames.length > 0 };
}

/** One statement's rows (or, without result columns, `[]` with the count of changed rows). */
function execute({ statement, rows }: Prepared, values: Binding[]): Rows {
  if (!rows) return Object.assign([], { count: statement.run(...values).changes });
  return statement.all(...values) as Rows;
}

/** Text up to its last statement holds no other `;`: one statement (prepared, rows returned). */
function isOneStatement(text: string): boolean {
  return !text.replace(/[\s;]+$/, "").includes(";");
}

/** Opens `file` with SQLite's busy handler off; the caller sets the other pragmas. */
export function openSqlite(
  file: string,
  options: { lockWaitMs: number; guard: boolean },
): SqliteClient {
  let database: Database | null = null;
  let closed = false;
  const open = () => {
    if (!database) {
      if (closed) throw new Error("the SQLite client is closed");
      database = new Database(file, { create: true, strict: true });
      database.run("PRAGMA busy_timeout = 0");
    }
    return database;
  };
  const statements = new WeakMap<TemplateStringsArray, Prepared>();
  /** The open transaction's token, and who waits for it to end. */
  let openTx: object | null = null;
  let txEnded: PromiseWithResolvers<void> | null = null;
  /** Transactions of this process take turns: the tail of that queue. */
  let txTail: Promise<unknown> = Promise.resolve();

  /**
   * Retries `attempt` while it meets SQLITE_BUSY until the deadline: first at the next turns of
   * the event loop (another process's write transaction usually holds the lock for tens of µs,
   * and this process's other transactions queue behind this one), then sleeping 1, 2, 4 … 16 ms.
   */
  async function waitForLock<T>(attempt: () => T): Promise<T> {
    const deadline = performance.now() + options.lockWaitMs;
    for (let round = 0, delay = 1; ; round++) {
      if (round < QUICK_RETRIES) await new Promise((resolve) => setImmediate(resolve));
      else {
        await Bun.sleep(delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 16);
      }
      try {
        return attempt();
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (performance.now() >= deadline) {
          throw new SqliteBusy(
            `the SQLite write lock was still held by another connection after ${options.lockWaitMs} ms`,
          );
        }
      }
    }
  }

  /** Another request's transaction is open: a statement of `owner` must not run inside it. */
  const blocked = (owner: object | null) => openTx !== null && owner !== openTx && options.guard;

  /** A statement answered `rows` at once. */
  function answered(rows: Rows, outcome?: Outcome): Promise<Rows> {
    outcome?.answered();
    return Promise.resolve(rows);
  }

  /** A statement threw `error`: refused, or (the write lock is held) `exec` retried until it runs. */
  function threw(error: unknown, exec: () => Rows, outcome?: Outcome): Promise<Rows> {
    if (!isBusy(error)) return Promise.reject(outcome ? outcome.failed(error) : error);
    const waited = waitForLock(exec);
    if (!outcome) return waited;
    return waited.then(
      (rows) => {
        outcome.answered();
        return rows;
      },
      (failure: unknown) => {
        throw outcome.failed(failure);
      },
    );
  }

  /** Runs one statement for `owner` (null: outside any transaction), told to `outcome`. */
  function run(owner: object | null, exec: () => Rows, outcome?: Outcome): Promise<Rows> {
    if (blocked(owner)) {
      const ended = (txEnded as PromiseWithResolvers<void>).promise;
      return ended.then(() => run(owner, exec, outcome));
    }
    try {
      return answered(exec(), outcome);
    } catch (error) {
      return threw(error, exec, outcome);
    }
  }

  /** The statement of one call site, prepared once. */
  function prepared(strings: TemplateStringsArray): Prepared {
    let statement = statements.get(strings);
    if (!statement) {
      const text = strings.reduce((all, part, i) => `${all}?${i}${part}`);
      statement = prepare(open(), text);
      statements.set(strings, statement);
    }
    return statement;
  }

  function tagged(owner: object | null, outcome?: Outcome): SqliteSql {
    const sql = ((strings: TemplateStringsArray, ...values: unknown[]) => {
      const known = statements.get(strings);
      if (!known && (!Array.isArray(strings) || !("raw" in strings))) {
        return Promise.reject(
          new TypeError("on SQLite, sql is a tagged template (sql`…`) or sql.unsafe(text)"),
        );
      }
      const bound = values as Binding[];
      // What run() does, without its closure on the common path (a point select is ~1 µs).
      try {
        for (let i = 0; i < values.length; i++) bound[i] = bindable(values[i]);
        if (blocked(owner)) return run(owner, () => execute(prepared(strings), bound), outcome);
        return answered(execute(known ?? prepared(strings), bound), outcome);
      } catch (error) {
        return threw(error, () => execute(prepared(strings), bound), outcome);
      }
    }) as SqliteSql;
    sql.unsafe = ((text: string, values: unknown[] = []) => {
      if (values.length === 0 && !isOneStatement(text)) {
        // Several statements (a migration file): run them all, no rows.
        return run(
          owner,
          () => {
            open().run(text);
            return [];
          },
          outcome,
        );
      }
      return run(
        owner,
        () => {
          const statement = prepare(open(), text);
          try {
            return execute(statement, values.map(bindable));
          } finally {
            statement.statement.finalize();
          }
        },
        outcome,
      );
    }) as SqliteSql["unsafe"];
    return sql;
  }

  async function transaction<T>(fn: (tx: SqliteSql) => Promise<T>): Promise<T> {
    const db = open();
    const token = {};
    // Marked open in the same step as BEGIN: no other request's statement may slip in between.
    const begin = () => {
      db.run("BEGIN IMMEDIATE");
      openTx = token;
      txEnded = Promise.withResolvers<void>();
    };
    try {
      begin();
    } catch (error) {
      if (!isBusy(error)) throw error;
      await waitForLock(begin);
    }
    try {
      const result = await fn(tagged(token));
      db.run("COMMIT");
      return result;
    } catch (error) {
      if (db.inTransaction) db.run("ROLLBACK");
      throw error;
    } finally {
      const ended = txEnded as PromiseWithResolvers<void> | null;
      openTx = null;
      txEnded = null;
      ended?.resolve();
    }
  }

  const client = tagged(null) as SqliteClient;
  client.begin = (<T>(
    a: string | ((tx: SqliteSql) => Promise<T>),
    b?: (tx: SqliteSql) => Promise<T>,
  ) => {
    // Every transaction is IMMEDIATE: a deferred one that reads then writes fails with
    // SQLITE_BUSY halfway, past any wait.
    const fn = (typeof a === "function" ? a : b) as (tx: SqliteSql) => Promise<T>;
    const result = txTail.then(() => transaction(fn));
    txTail = result.catch(() => {});
    return result;
  }) as SqliteClient["begin"];
  client.reporting = (outcome) => Object.assign(tagged(null, outcome), { begin: client.begin });
  client.close = async () => {
    closed = true;
    database?.close(false);
    database = null;
  };
  return client;
}
