import { expect, test } from "bun:test";
import { join } from "node:path";
import { DatabaseUnavailable, Db } from "../../app/db/client.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { freePort } from "../helpers/fleet.ts";
import { postgresForFile } from "../helpers/postgres.ts";

/** app/db's client: SQLite pragmas, the transaction guard, a database that is down or goes away. */

const { tmp, pg } = postgresForFile("bun-fleet-db-");
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

test("SQLite: WAL, busy_timeout, synchronous=NORMAL and foreign keys are on", async () => {
  const db = await sqliteDb();
  const value = async (pragma: string) =>
    Object.values((await db.query((sql) => sql.unsafe(`PRAGMA ${pragma}`)))[0] as object)[0];
  expect(await value("journal_mode")).toBe("wal");
  expect(await value("busy_timeout")).toBe(5000);
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

test("PostgreSQL going away: DatabaseUnavailable, logged once per outage, then served again", async () => {
  const lines: string[] = [];
  const log = {
    warn: (m: string) => lines.push(`warn ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
  };
  const db = new Db(target(await pg().url("outage")), { max: 2, applicationName: "test", log });
  await db.check();
  await pg().kill();
  for (let i = 0; i < 3; i++) {
    const error = await db.query((sql) => sql`select 1`).catch((e) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailable);
  }
  expect(lines.filter((l) => l.startsWith("warn"))).toHaveLength(1);
  await pg().restart();
  expect(await db.query((sql) => sql`select 1 as one`)).toEqual([{ one: 1 }]);
  expect(lines.filter((l) => l.startsWith("info"))).toHaveLength(1);
  expect(db.stats).toMatchObject({ queries: 4, errors: 3 });
  expect(lines.join("\n")).not.toContain(":pw@");
  expect(await db.close(Date.now() + 2000)).toBe(true);
}, 30_000);

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
