import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Hono } from "hono";
import { db } from "../../app/db/index.ts";
import { useTestDatabase } from "./database.ts";

const file = useTestDatabase();

test("useTestDatabase opens db() on a new, migrated SQLite file, so routes that query it answer through app.request()", async () => {
  const app = new Hono().get("/count", async (c) => {
    const [row] = await db().query((sql) => sql<{ n: number }[]>`select count(*) as n from jobs`);
    return c.json({ jobs: Number(row?.n) });
  });
  const res = await app.request("/count");
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ jobs: 0 });
  // Every migration of app/db/migrations is applied to the throwaway file, not to data/app.db.
  expect(existsSync(file)).toBe(true);
  const look = new Database(file, { readonly: true });
  const applied = look.query("select count(*) as n from schema_migrations").get() as { n: number };
  look.close();
  expect(applied.n).toBeGreaterThan(0);
});
