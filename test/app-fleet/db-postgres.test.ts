import { expect, test } from "bun:test";
import { DatabaseUnavailable, Db } from "../../app/db/client.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { waitFor } from "../helpers/fleet.ts";
import { postgresForFile } from "../helpers/postgres.ts";

/** app/db's client on a throwaway PostgreSQL (the in-process SQLite tests: test/app/db.test.ts). */

const { pg } = postgresForFile("bun-fleet-db-pg-");

const target = (url: string) => parseDatabaseUrl(url) as Target;

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
  // The end of the outage is logged once it has held a second (a flap back is the same outage).
  await waitFor("the outage's end to be logged", () => lines.some((l) => l.startsWith("info")));
  expect(lines.filter((l) => l.startsWith("info"))).toHaveLength(1);
  expect(db.stats).toMatchObject({ queries: 4, errors: 3 });
  expect(lines.join("\n")).not.toContain(":pw@");
  expect(await db.close(Date.now() + 2000)).toBe(true);
}, 30_000);

test("PostgreSQL: query(fn, then) is a promise of then's value (the same route code as on SQLite)", async () => {
  const db = new Db(target(await pg().url("then")), { max: 1, applicationName: "test" });
  await db.check();
  const answer = db.query(
    (sql) => sql<{ one: number }[]>`select 1 as one`,
    ([row]) => row?.one,
  );
  expect(answer).toBeInstanceOf(Promise);
  expect(await answer).toBe(1);
  const wrong = db.query(
    (sql) => sql`select * from missing`,
    () => 0,
  ) as Promise<number>;
  const error = await wrong.catch((e) => e);
  expect(error.message).toContain("missing");
  expect(await db.close(Date.now() + 2000)).toBe(true);
}, 30_000);

test("PostgreSQL: a statement past the statement timeout is cancelled (503), and the pool is usable afterwards", async () => {
  const db = new Db(target(await pg().url("timeout")), {
    max: 1,
    applicationName: "test",
    statementTimeoutMs: 200,
  });
  await db.check();
  const error = await db.query((sql) => sql`select pg_sleep(5)`).catch((e) => e);
  expect(error).toBeInstanceOf(DatabaseUnavailable);
  expect(error.message).toContain("timed out");
  const inTx = await db.transaction((tx) => tx`select pg_sleep(5)`).catch((e) => e);
  expect(inTx).toBeInstanceOf(DatabaseUnavailable);
  // One connection: it answers again once the cancelled statements are gone.
  expect(await db.query((sql) => sql`select 1 as one`)).toEqual([{ one: 1 }]);
  expect(await db.close(Date.now() + 2000)).toBe(true);
}, 30_000);
