import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, scaled } from "../helpers/fleet.ts";
import { copyProject } from "../helpers/project.ts";

/** A copy of the project (no .git: the script's uncommitted-changes check has nothing to see). */
let project = "";

/** Runs a command in the copy to completion. */
function run(cmd: string[]) {
  const proc = Bun.spawnSync(cmd, { cwd: project, stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode, out: `${proc.stdout}${proc.stderr}` };
}

beforeAll(() => {
  const entries = ["app", "workers", "scripts", "test", "deploy", "package.json", "tsconfig.json"];
  project = copyProject("strip-demo-", [...entries, "bunfig.toml", "biome.json", "README.md"]);
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("bun scripts/strip-demo.ts", () => {
  test(
    "leaves a minimal app with one route, its hooks and its tests: it type-checks, lints and its tests pass",
    () => {
      // The README endpoints check, the data layer's and the ordering recipe's tests and the
      // black-box tests that hold for any app are kept when the project has them.
      const keep = [
        "readme.test.ts",
        "settings.test.ts",
        "db.test.ts",
        "static.test.ts",
        "newest.test.ts",
        "jobs-pure.test.ts",
        "database.ts",
        "database.test.ts",
        "db-not-open.test.ts",
      ];
      const kept = keep.filter((name) => existsSync(join(project, "test", "app", name)));
      const keepFleet = [
        "binary.test.ts",
        "database-fleet.test.ts",
        "db-postgres.test.ts",
        "migrations.test.ts",
        "migrate-dir.ts",
      ];
      const keptFleet = keepFleet.filter((name) =>
        existsSync(join(project, "test", "app-fleet", name)),
      );
      // A start before the strip left the demo's tables in the default SQLite file: it says so.
      mkdirSync(join(project, "data"));
      writeFileSync(join(project, "data", "app.db"), "");
      const strip = run([process.execPath, "scripts/strip-demo.ts"]);
      expect(strip).toMatchObject({ code: 0 });
      expect(strip.out).toContain("data/app.db still holds the demo's tables");
      // It runs once: run again it would delete the new app's routes, and its test would fail
      // on the new app.
      for (const path of ["scripts/strip-demo.ts", "test/fleet/strip-demo.test.ts"]) {
        expect({ path, exists: existsSync(join(project, path)) }).toEqual({ path, exists: false });
      }
      const gone = [
        "app/routes",
        "app/public",
        "app/jobs/report.ts",
        "app/jobs/purge-done-todos.ts",
      ];
      for (const path of gone) expect(existsSync(join(project, path))).toBe(false);
      for (const file of ["index.ts", "hooks.ts", "errors.ts", "config.ts", "db/index.ts"]) {
        expect(existsSync(join(project, "app", file))).toBe(true);
      }
      // The data layer and the job queue stay wired, with no jobs; the demo schedule's settings go.
      for (const file of ["queue.ts", "runner.ts", "schedules.ts", "process.ts", "index.ts"]) {
        expect(existsSync(join(project, "app", "jobs", file))).toBe(true);
      }
      expect(readFileSync(join(project, "app", "jobs", "index.ts"), "utf8")).toContain(
        "export const jobs: Job[] = [];",
      );
      const hooks = readFileSync(join(project, "app", "hooks.ts"), "utf8");
      expect(hooks).toContain('name: "jobs"');
      expect(hooks).toContain("export async function onStart");
      const config = readFileSync(join(project, "app", "config.ts"), "utf8");
      expect(config).toContain("JOBS_CONCURRENCY");
      expect(config).not.toContain("PURGE_DONE");
      // No todos migration is left (the job queue's stay), and the README says nothing of what
      // was deleted.
      const migrations = join(project, "app", "db", "migrations");
      const left = existsSync(migrations) ? readdirSync(migrations) : [];
      expect(left.filter((name) => !/^\d+_jobs[._]/.test(name))).toEqual([]);
      const readme = readFileSync(join(project, "README.md"), "utf8");
      // (Examples of code a user would write may name any route; what the demo was may not stay.)
      const demo = ["todos.ts", "chat.ts", "events.ts", "echo.ts", "app/public/", "report.ts"];
      const stale = [...demo, "/api/todos", "0001_todos", "PURGE_DONE", "/chat", "/events"];
      stale.push("WebSocket route"); // the template's app exports `websocket` for one; no more
      for (const word of [...stale, "<!-- demo -->"])
        expect({ word, found: readme.includes(word) }).toEqual({ word, found: false });
      // What is left reads as it did: no doubled blank line, no code block glued to a paragraph,
      // no two paragraphs run together where a passage between them went.
      expect(readme).not.toContain("\n\n\n");
      expect(readme.match(/[^\n]\n```\w+/g)).toBeNull();
      const before = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
      const after = readme.split("\n");
      const once = (line: string) => before.indexOf(line) === before.lastIndexOf(line);
      const glued = before
        .filter((line, i) => line !== "" && before[i - 1] === "" && !line.includes("demo -->"))
        .filter((line) => once(line) && after.includes(line))
        .filter((line) => after[after.indexOf(line) - 1] !== "");
      expect(glued).toEqual([]);
      const testFiles = ["index.test.ts", ...kept].sort();
      expect(readdirSync(join(project, "test", "app")).sort()).toEqual(testFiles);
      expect(readdirSync(join(project, "test", "app-fleet")).sort()).toEqual(keptFleet.sort());
      // The rest of the tree is untouched, so checking app/ and test/app/ (with what they import)
      // covers what changed; the whole-project type check and suite run in `bun run test`.
      Bun.write(
        join(project, "tsconfig.app.json"),
        JSON.stringify({
          extends: "./tsconfig.json",
          include: ["app", "test/app", "test/app-fleet"],
        }),
      );
      const types = run([
        join(ROOT, "node_modules", ".bin", "tsc"),
        "--noEmit",
        "-p",
        "tsconfig.app.json",
      ]);
      expect(types).toEqual({ code: 0, out: "" });
      const lint = run([
        join(ROOT, "node_modules", ".bin", "biome"),
        "check",
        "--indent-style=space",
        "--line-width=100",
        "app",
        "test/app",
        "test/app-fleet",
      ]);
      expect(lint.out).toContain("No fixes applied");
      expect(lint.code).toBe(0);
      // The app's tests, the README tables (runtime rows and the new app's) and the layout rules.
      const tests = run([
        process.execPath,
        "test",
        "--timeout",
        "20000",
        "./test/app/",
        "test/unit/readme.test.ts",
        "test/unit/readme-links.test.ts",
        "test/unit/layout.test.ts",
      ]);
      expect(tests.out).toContain("(pass) app/index.ts > GET / says hello from its worker");
      if (kept.length > 0) {
        expect(tests.out).toContain(
          "(pass) every route of app/index.ts is in README.md's Endpoints table",
        );
      }
      expect(tests.out).toContain(" 0 fail");
      expect(tests.code).toBe(0);
    },
    scaled(60_000),
  );

  test(
    "the black-box tests kept for any app pass on the stripped app: the one-file build, the database in a fleet, migrations",
    () => {
      // Runs after the test above has stripped the copy.
      expect(existsSync(join(project, "app", "routes"))).toBe(false);
      const tests = run([
        process.execPath,
        "test",
        "--timeout",
        String(scaled(60_000)),
        "./test/app-fleet/",
      ]);
      expect(tests.out).toContain("(pass) dist/bun-fleet > two workers serve the app");
      expect(tests.out).toContain("PostgreSQL going away: DatabaseUnavailable");
      expect(tests.out).toContain(" 0 fail");
      expect(tests.code).toBe(0);
    },
    scaled(240_000),
  );
});
