import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { settings } from "../../app/config.ts";
import { closeDb, db, openDb } from "../../app/db/index.ts";
import { migrate } from "../../app/db/migrate.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { purgeDoneTodos } from "../../app/jobs/purge-done-todos.ts";
import type { JobContext } from "../../app/jobs/queue.ts";

/** The demo schedule (app/jobs/purge-done-todos.ts) and its settings. */

const tmp = mkdtempSync(join(tmpdir(), "bun-fleet-purge-"));
const target = parseDatabaseUrl(`sqlite://${join(tmp, "purge.db")}`) as Target;

beforeAll(async () => {
  await migrate(target);
  await openDb(target, { max: 1, applicationName: "purge test" });
});

afterAll(async () => {
  await closeDb(Date.now() + 1000);
  rmSync(tmp, { recursive: true, force: true });
});

describe("purge-done-todos", () => {
  test("deletes the done todos last updated before PURGE_DONE_AFTER_S, and only those", async () => {
    const day = 86_400_000;
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    const rows: [string, boolean, string][] = [
      ["old and done", true, ago(8 * day)],
      ["recent and done", true, ago(day)],
      ["old, not done", false, ago(8 * day)],
    ];
    for (const [title, done, at] of rows) {
      await db().query(
        (sql) => sql`insert into todos (title, done, created_at, updated_at)
                     values (${title}, ${done}, ${at}, ${at})`,
      );
    }
    const config = settings.parse({});
    const result = await db().transaction(async (tx) =>
      purgeDoneTodos.run({}, { sql: tx, config } as unknown as JobContext),
    );
    expect(result).toEqual({ deleted: 1 });
    const left = await db().query((sql) => sql`select title from todos order by id`);
    expect(left.map((row: { title: string }) => row.title)).toEqual([
      "recent and done",
      "old, not done",
    ]);
  });

  test("its settings: hourly and 7 days by default; a bad cron is refused naming it", () => {
    expect(settings.parse({})).toMatchObject({
      PURGE_DONE_CRON: "0 * * * *",
      PURGE_DONE_AFTER_S: 604_800,
    });
    const bad = settings.safeParse({ PURGE_DONE_CRON: "every hour" });
    expect(bad.error?.issues.map((issue) => issue.path.join("."))).toEqual(["PURGE_DONE_CRON"]);
    expect(bad.error?.issues[0]?.message).toStartWith("is not a cron expression");
  });
});
