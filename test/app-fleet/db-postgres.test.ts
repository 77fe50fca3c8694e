import { expect, test } from "bun:test";
import { DatabaseUnavailable, Db } from "../../app/db/client.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
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
  expect(lines.filter((l) => l.startsWith("info"))).toHaveLength(1);
  expect(db.stats).toMatchObject({ queries: 4, errors: 3 });
  expect(lines.join("\n")).not.toContain(":pw@");
  expect(await db.close(Date.now() + 2000)).toBe(true);
}, 30_000);
