import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseUnavailable, Db } from "../../app/db/client.ts";
import { refusal } from "../../app/db/refusal.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { freePort } from "../helpers/fleet.ts";

/**
 * app/db's client in-process: SQLite pragmas, the transaction guard, a database that is down at
 * open (PostgreSQL going away mid-run: test/app-fleet/db-postgres.test.ts).
 */

const tmp = mkdtempSync(join(tmpdir(), "bun-fleet-db-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let files = 0;

const target = (url: string) => parseDatabaseUrl(url) as Target;

async function sqliteDb(options: { guard?: boolean } = {}) {
  const db = new Db(target(`sqlite://${join(tmp, `c${++files}.db`)}`), {
    max: 1,
    applicationName: "test",
    ...options,
  });
  await db.check();
  await db.query((sql) => sql`create table t (v text not null)`);
  return db;
}

test("SQLite: WAL, busy_timeout 0, synchronous=NORMAL and foreign keys are on", async () => {
  const db = await sqliteDb();
  const value = async (pragma: string) =>
    Object.values((await db.query((sql) => sql.unsafe(`PRAGMA ${pragma}`)))[0] as object)[0];
  expect(await value("journal_mode")).toBe("wal");
  expect(await value("busy_timeout")).toBe(0); // lock waits are asynchronous (sqlite.ts)
  expect(await value("synchronous")).toBe(1); // NORMAL
  expect(await value("foreign_keys")).toBe(1);
  expect(await db.close(Date.now() + 1000)).toBe(true);
});

/**
 * Request A opens a transaction and writes; then request B writes on its own, and A fails (rolled
 * back) once B's write has finished, or after 50 ms when the guard holds B back until A is done.
 * Bun.SQL on SQLite has one connection: without the guard, B's write runs inside A's transaction
 * and is rolled back with it.
 */
async function interleave(db: Db): Promise<string[]> {
  const opened = Promise.withResolvers<void>();
  // B's promise in a box: resolving with the promise itself would wait for B.
  const issued = Promise.withResolvers<{ b: Promise<unknown> }>();
  const a = db
    .transaction(async (tx) => {
      await tx`insert into t (v) values ('a')`;
      opened.resolve();
      const { b } = await issued.promise;
      await Promise.race([b.catch(() => {}), Bun.sleep(50)]);
      throw new Error("request A fails");
    })
    .catch(() => {});
  await opened.promise; // A's transaction is open now
  const b = db.query((sql) => sql`insert into t (v) values ('b')`);
  issued.resolve({ b });
  await Promise.all([a, b]);
  return ((await db.query((sql) => sql`select v from t order by v`)) as { v: string }[]).map(
    (r) => r.v,
  );
}

test("SQLite: the transaction guard keeps another request's write out of a transaction", async () => {
  const db = await sqliteDb();
  expect(await interleave(db)).toEqual(["b"]);
  await db.close(Date.now() + 1000);
});

/** Another request's transaction that wrote `v` and stays open until `commit()`; `done` settles then. */
async function openTransaction(db: Db, v: string) {
  const opened = Promise.withResolvers<void>();
  const end = Promise.withResolvers<void>();
  const done = db.transaction(async (tx) => {
    await tx`insert into t (v) values (${v})`;
    opened.resolve();
    await end.promise;
  });
  await opened.promise;
  return { commit: () => end.resolve(), done };
}

test("SQLite: a statement held back by another request's transaction binds its parameters like any other", async () => {
  const db = await sqliteDb();
  const a = await openTransaction(db, "a");
  // Held back until A commits: a Date and a boolean are bound as outside a transaction.
  const b = db.query((sql) => sql`insert into t (v) values (${new Date(0)}), (${true})`);
  a.commit();
  await Promise.all([a.done, b]);
  const rows = (await db.query((sql) => sql`select v from t order by rowid`)) as { v: unknown }[];
  expect(rows.map((r) => r.v)).toEqual(["a", "1970-01-01T00:00:00.000Z", "1"]);
  await db.close(Date.now() + 1000);
});

test("query(fn, then) on SQLite: then runs at once, no promise; behind a transaction or on an error, a promise as without then", async () => {
  const db = await sqliteDb();
  await db.query((sql) => sql`insert into t (v) values ('a')`);
  const at = db.query(
    (sql) => sql<{ v: string }[]>`select v from t`,
    ([row]) => row?.v,
  );
  expect(at).toBe("a"); // a value, not a promise
  expect(() =>
    db.query(
      (sql) => sql`select 1`,
      () => {
        throw new Error("then threw");
      },
    ),
  ).toThrow("then threw");
  // A wrong query rejects (a 500 through the route), as it does without `then`.
  const wrong = db.query(
    (sql) => sql`select * from missing`,
    () => "never",
  );
  expect(wrong).toBeInstanceOf(Promise);
  expect(((await (wrong as Promise<string>).catch((e) => e)) as Error).message).toContain(
    "no such table",
  );
  // Held back by another request's transaction: a promise of then's value, after the commit.
  const other = await openTransaction(db, "b");
  const later = db.query(
    (sql) => sql<{ n: number }[]>`select count(*) as n from t`,
    ([r]) => r?.n,
  );
  expect(later).toBeInstanceOf(Promise);
  other.commit();
  await other.done;
  expect(await later).toBe(2);
  expect(db.stats).toMatchObject({ queries: 7, errors: 1 }); // the table, then six here
  await db.close(Date.now() + 1000);
});

test("SQLite without the guard: the other request's write is rolled back with the transaction", async () => {
  const db = await sqliteDb({ guard: false });
  expect(await interleave(db)).toEqual([]); // what the guard prevents
  await db.close(Date.now() + 1000);
});

test("a database that is down at open: one line naming host:port/db, never the password", async () => {
  const port = await freePort();
  const db = new Db(target(`postgres://app:hunter2secret@127.0.0.1:${port}/shop`), {
    max: 1,
    applicationName: "test",
  });
  const error = await db.check().catch((e) => e);
  expect(error).toBeInstanceOf(DatabaseUnavailable);
  expect(error.message).toContain(`postgres 127.0.0.1:${port}/shop is not reachable`);
  expect(error.message).not.toContain("hunter2secret");
  expect(error.message).not.toContain("\n");
  await db.close(Date.now() + 1000);
});

test("a SQLite file that cannot be created: one line naming it", async () => {
  const db = new Db(target("sqlite:///proc/no-such-dir/app.db"), { max: 1, applicationName: "t" });
  const error = await db.check().catch((e) => e);
  expect(error).toBeInstanceOf(DatabaseUnavailable);
  expect(error.message).toContain("sqlite /proc/no-such-dir/app.db is not reachable");
});

test("DATABASE_URL: unset, sqlite://, file:, postgres(ql)://; anything else is refused unechoed", () => {
  expect(parseDatabaseUrl(undefined, "/srv/app")).toEqual({
    dialect: "sqlite",
    file: "/srv/app/data/app.db",
    shown: "data/app.db",
  });
  expect(parseDatabaseUrl("sqlite://db/x.db", "/srv/app")).toMatchObject({
    file: "/srv/app/db/x.db",
  });
  expect(parseDatabaseUrl("sqlite:///var/x.db", "/srv/app")).toMatchObject({ file: "/var/x.db" });
  expect(parseDatabaseUrl("file:x.db", "/srv/app")).toMatchObject({ file: "/srv/app/x.db" });
  expect(parseDatabaseUrl("postgres://u:secret@db:6543/shop")).toMatchObject({
    dialect: "postgres",
    shown: "db:6543/shop",
  });
  expect(parseDatabaseUrl("postgresql://u@db/shop")).toMatchObject({ shown: "db:5432/shop" });
  for (const bad of ["mysql://u:secret@db/x", "sqlite://", "file:", "postgres://u:secret@/x"]) {
    const parsed = parseDatabaseUrl(bad);
    expect("error" in parsed).toBe(true);
    expect(JSON.stringify(parsed)).not.toContain("secret");
  }
});

test("DATABASE_URL ?prepare=false: parsed, taken out of the URL (other parameters kept as written)", () => {
  expect(parseDatabaseUrl("postgres://u:pw@db/shop")).toMatchObject({
    url: "postgres://u:pw@db/shop",
    prepare: true,
  });
  expect(parseDatabaseUrl("postgres://u:pw@db:6432/shop?prepare=false")).toEqual({
    dialect: "postgres",
    url: "postgres://u:pw@db:6432/shop",
    shown: "db:6432/shop",
    prepare: false,
  });
  expect(
    parseDatabaseUrl("postgres://u@db/shop?sslmode=disable&prepare=false&options=-c%20x%3D1"),
  ).toMatchObject({
    url: "postgres://u@db/shop?sslmode=disable&options=-c%20x%3D1",
    prepare: false,
  });
  expect(parseDatabaseUrl("postgres://u@db/shop?prepare=true")).toMatchObject({
    prepare: true,
  });
  for (const bad of ["?prepare=no", "?prepare=", "?prepare=false&prepare=true"]) {
    const parsed = parseDatabaseUrl(`postgres://u:secret@db/shop${bad}`);
    expect(parsed).toEqual({
      error: "may set prepare once, to true or false (?prepare=false behind PgBouncer)",
    });
  }
});

test("SQLite facade: scalars bound, rows as objects, counts, multi-statement unsafe, objects refused", async () => {
  const db = await sqliteDb();
  const rows = await db.query(
    (sql) =>
      sql`select ${true} as yes, ${null} as empty, ${2.5} as n, ${10n} as big, ${"x"} as s, ${new Date(0)} as d`,
  );
  expect(rows).toEqual([
    { yes: 1, empty: null, n: 2.5, big: 10, s: "x", d: "1970-01-01T00:00:00.000Z" },
  ]);
  await db.query((sql) =>
    sql.unsafe("insert into t (v) values ('a'); insert into t (v) values ('b');"),
  );
  const updated = await db.query((sql) => sql`update t set v = ${"c"} where v <> ${"z"}`);
  expect(updated.count).toBe(2);
  const error = await db.query((sql) => sql`select ${{ v: 1 }} as o`).catch((e) => e);
  expect(error).toBeInstanceOf(TypeError);
  expect(error.message).toContain("a SQLite parameter is a string, number");
  await db.close(Date.now() + 1000);
});

test("SQLite: a write lock held by another connection is waited for without blocking the event loop, then refused", async () => {
  const file = join(tmp, `c${++files}.db`);
  const db = new Db(target(`sqlite://${file}`), {
    max: 1,
    applicationName: "test",
    statementTimeoutMs: 300,
  });
  await db.check();
  await db.query((sql) => sql`create table t (v text not null)`);
  const other = new Database(file);
  other.run("BEGIN IMMEDIATE");
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  const refused = await db.transaction((tx) => tx`insert into t (v) values ('x')`).catch((e) => e);
  const plain = await db.query((sql) => sql`insert into t (v) values ('y')`).catch((e) => e);
  clearInterval(ticker);
  expect(refused).toBeInstanceOf(DatabaseUnavailable);
  expect(refused.retryAfterS).toBe(1);
  expect(plain).toBeInstanceOf(DatabaseUnavailable);
  expect(ticks).toBeGreaterThan(10); // timers ran while it waited
  other.run("ROLLBACK");
  other.close();
  await db.transaction((tx) => tx`insert into t (v) values ('z')`);
  expect(await db.query((sql) => sql`select v from t`)).toEqual([{ v: "z" }]);
  await db.close(Date.now() + 1000);
});

test("refusals are named (refused, auth, too many clients, pooler, timeout, lock); a wrong query is not one", () => {
  const pgError = (errno: string, message = "") =>
    Object.assign(new Error(message), { code: "ERR_POSTGRES_SERVER_ERROR", errno });
  const kind = (error: unknown) => refusal(error)?.kind ?? null;
  expect(kind(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBe("refused");
  expect(kind(pgError("28P01", 'password authentication failed for user "app"'))).toBe("auth");
  expect(kind(pgError("53300", "sorry, too many clients already"))).toBe("full");
  expect(kind(pgError("08P01", "no more connections allowed (max_client_conn)"))).toBe("pooler");
  expect(kind(pgError("08P01", "pgbouncer cannot connect to server"))).toBe("pooler");
  expect(kind(pgError("57014", "canceling statement due to statement timeout"))).toBe("timeout");
  expect(kind(pgError("57P01", "terminating connection due to administrator command"))).toBe(
    "down",
  );
  expect(kind(Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" }))).toBe(
    "busy",
  );
  expect(kind(pgError("42P01", 'relation "nope" does not exist'))).toBeNull();
  expect(kind(new TypeError("x is not a function"))).toBeNull();
  expect(refusal(pgError("53300"))?.retryAfterS).toBe(1);
  expect(refusal(Object.assign(new Error(), { code: "ECONNREFUSED" }))?.retryAfterS).toBe(5);
});
