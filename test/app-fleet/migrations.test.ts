import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { SQL } from "bun";
import { loadMigrations, MigrationError, migrate, migrationStatus } from "../../app/db/migrate.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { outputOf } from "../../scripts/lib/procs.ts";
import { ROOT } from "../helpers/fleet.ts";
import { postgresForFile } from "../helpers/postgres.ts";

const MIGRATE_DIR = join(ROOT, "test", "app-fleet", "migrate-dir.ts");
const { tmp, pg } = postgresForFile("bun-fleet-migrations-");
let dbCount = 0;

/** A folder of migration files. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmp, "m-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function target(url: string): Target {
  const parsed = parseDatabaseUrl(url);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed;
}

/** A fresh database of each dialect. */
const DIALECTS = {
  sqlite: async () => `sqlite://${join(tmp, `db-${++dbCount}.db`)}`,
  postgres: async () => pg().url(`m${++dbCount}`),
};

async function rows(url: string, query: string) {
  const t = target(url);
  const sql =
    t.dialect === "sqlite" ? new SQL({ adapter: "sqlite", filename: t.file }) : new SQL(t.url);
  try {
    return [...(await sql.unsafe(query))];
  } finally {
    await sql.close();
  }
}

test("the dialect's own file wins over the portable one; the other dialect's is skipped", () => {
  const dir = folder({
    "0001_a.sql": "create table a (x int);",
    "0001_a.postgres.sql": "create table a (x bigint);",
    "0002_b.sqlite.sql": "create table b (y int);",
  });
  expect(loadMigrations("sqlite", dir).map((m) => m.file.split("/").pop())).toEqual([
    "0001_a.sql",
    "0002_b.sqlite.sql",
  ]);
  expect(loadMigrations("postgres", dir).map((m) => m.file.split("/").pop())).toEqual([
    "0001_a.postgres.sql",
  ]);
});

test("migrations can be given as files (a one-file build embeds them) instead of a folder", () => {
  const files = [
    { path: "/$bunfs/app/db/migrations/0002_b.sql", text: "create table b (y int);" },
    { path: "/$bunfs/app/db/migrations/0001_a.postgres.sql", text: "create table a (x bigint);" },
    { path: "/$bunfs/app/db/migrations/0001_a.sql", text: "create table a (x int);" },
  ];
  expect(loadMigrations("postgres", files).map((m) => [m.version, m.name, m.sql])).toEqual([
    [1, "a", "create table a (x bigint);"],
    [2, "b", "create table b (y int);"],
  ]);
});

test("a misnamed file or two names for one version stop the start", () => {
  expect(() => loadMigrations("sqlite", folder({ "1_a.sql": "" }))).toThrow(MigrationError);
  expect(() => loadMigrations("sqlite", folder({ "0001_a.sql": "", "0001_b.sql": "" }))).toThrow(
    "version 0001 is already taken by a",
  );
});

describe.each(Object.keys(DIALECTS) as (keyof typeof DIALECTS)[])("on %s", (dialect) => {
  test("applies each pending file once, in order, recording version, checksum, time", async () => {
    const url = await DIALECTS[dialect]();
    const dir = folder({
      "0002_b.sql": "insert into a (x) values (2);",
      "0001_a.sql": "create table a (x int); insert into a (x) values (1);",
    });
    const first = await migrate(target(url), { dir });
    expect(first.applied.map((m) => m.version)).toEqual([1, 2]);
    const second = await migrate(target(url), { dir });
    expect(second.applied).toEqual([]);
    expect(await rows(url, "select x from a order by x")).toEqual([{ x: 1 }, { x: 2 }]);
    const recorded = await rows(
      url,
      "select version, name, checksum, applied_at from schema_migrations order by version",
    );
    expect(recorded.map((r) => [Number(r.version), r.name])).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    for (const r of recorded) {
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isNaN(Date.parse(r.applied_at))).toBe(false);
    }
    const status = await migrationStatus(target(url), dir);
    expect(status.map((s) => s.state)).toEqual(["applied", "applied"]);
  });

  test("a failing file is rolled back whole and named; the ones before it stay applied", async () => {
    const url = await DIALECTS[dialect]();
    const dir = folder({
      "0001_a.sql": "create table a (x int);",
      "0002_bad.sql": "create table half (y int); insert into nowhere values (1);",
      "0003_c.sql": "create table c (z int);",
    });
    const error = await migrate(target(url), { dir }).catch((e) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.message).toContain("0002_bad.sql failed");
    const tables = await rows(
      url,
      dialect === "sqlite"
        ? "select name from sqlite_master where type = 'table' and name in ('a', 'half', 'c')"
        : "select tablename as name from pg_tables where tablename in ('a', 'half', 'c')",
    );
    expect(tables.map((t) => t.name)).toEqual(["a"]);
    const versions = await rows(url, "select version from schema_migrations");
    expect(versions.map((r) => Number(r.version))).toEqual([1]);
  });

  test("an applied file whose text changed stops it, naming the file", async () => {
    const url = await DIALECTS[dialect]();
    const dir = folder({ "0001_a.sql": "create table a (x int);" });
    await migrate(target(url), { dir });
    writeFileSync(join(dir, "0001_a.sql"), "create table a (x int, y int);");
    const error = await migrate(target(url), { dir }).catch((e) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.message).toContain("0001_a.sql was changed after it was applied");
    expect((await migrationStatus(target(url), dir))[0]?.state).toBe("changed");
  });

  test("two processes migrating one fresh database at once apply each file once", async () => {
    const url = await DIALECTS[dialect]();
    // A slow first migration: the second process must wait for the lock, not race past it.
    const slow =
      dialect === "sqlite"
        ? "with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000) select count(*) from n;"
        : "select pg_sleep(0.3);";
    const dir = folder({
      "0001_a.sql": `${slow} create table a (x int); insert into a (x) values (1);`,
      "0002_b.sql": "insert into a (x) values (2);",
    });
    const runs = [0, 1].map(() =>
      Bun.spawn([process.execPath, MIGRATE_DIR, url, dir], { stdout: "pipe", stderr: "pipe" }),
    );
    const results = await Promise.all(
      runs.map(async (p) => ({
        code: await p.exited,
        out: await new Response(p.stdout).text(),
        err: await new Response(p.stderr).text(),
      })),
    );
    expect(results.map((r) => [r.code, r.err])).toEqual([
      [0, ""],
      [0, ""],
    ]);
    const applied = results.flatMap((r) => JSON.parse(r.out) as number[]).sort();
    expect(applied).toEqual([1, 2]);
    expect(await rows(url, "select x from a order by x")).toEqual([{ x: 1 }, { x: 2 }]);
  }, 20_000);
});

/** The app's first migration on SQLite (none once the app has no migrations: a stripped demo). */
const FIRST = loadMigrations("sqlite")[0];
const firstFile = FIRST ? relative(ROOT, FIRST.file) : "";

describe("bun run migrate", () => {
  const run = async (env: Record<string, string>, ...args: string[]) => {
    const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", "migrate.ts"), ...args], {
      cwd: tmp,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const { stdout: out, stderr: err, code } = await outputOf(proc);
    return { out, err, code };
  };

  test.skipIf(!FIRST)(
    "applies the app's migrations, then has nothing to do (exit 0 both times)",
    async () => {
      const env = { DATABASE_URL: `sqlite://${join(tmp, "cli.db")}` };
      const first = await run(env);
      expect(first).toMatchObject({ code: 0, err: "" });
      expect(first.out).toContain(`applied ${firstFile}`);
      // Every migration of app/db/migrations (a user's new ones too).
      expect(first.out).toContain(`${loadMigrations("sqlite").length} migration(s) applied`);
      const again = await run(env);
      expect(again).toMatchObject({ code: 0, err: "" });
      expect(again.out).toContain("nothing to do, schema up to date");
      const status = await run(env, "--status");
      expect(status.code).toBe(0);
      expect(status.out).toMatch(
        new RegExp(`^${String(FIRST?.version).padStart(4, "0")} ${FIRST?.name}\\s+applied `, "m"),
      );
      expect(status.out).toContain("0 pending, 0 changed");
    },
  );

  test("unset DATABASE_URL: data/app.db under the working directory, folder created", async () => {
    const cwd = mkdtempSync(join(tmp, "cwd-"));
    const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", "migrate.ts")], {
      cwd,
      env: { PATH: process.env.PATH ?? "" },
      stdout: "pipe",
    });
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stdout).text()).toContain("database sqlite data/app.db");
    expect(await Bun.file(join(cwd, "data", "app.db")).exists()).toBe(true);
  });

  test.skipIf(!FIRST)(
    "an applied migration whose file changed: exit 3 naming it; a bad URL: exit 2",
    async () => {
      const file = join(tmp, "changed.db");
      expect((await run({ DATABASE_URL: `sqlite://${file}` })).code).toBe(0);
      const sql = new SQL({ adapter: "sqlite", filename: file });
      await sql`update schema_migrations set checksum = 'edited' where version = ${FIRST?.version}`;
      await sql.close();
      const changed = await run({ DATABASE_URL: `sqlite://${file}` });
      expect(changed.code).toBe(3);
      expect(changed.err).toContain(`${firstFile} was changed after it was applied`);
      expect((await run({ DATABASE_URL: `sqlite://${file}` }, "--status")).code).toBe(3);
      const bad = await run({ DATABASE_URL: "mysql://u:secret@db/x" });
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("DATABASE_URL: must be sqlite://PATH");
      expect(bad.err).not.toContain("secret");
    },
  );
});
