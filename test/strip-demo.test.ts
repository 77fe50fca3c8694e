import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/fleet.ts";
import { copyProject } from "./helpers/project.ts";

/** A copy of the project (no .git: the script's uncommitted-changes check has nothing to see). */
let project = "";

/** Runs a command in the copy to completion. */
function run(cmd: string[]) {
  const proc = Bun.spawnSync(cmd, { cwd: project, stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode, out: `${proc.stdout}${proc.stderr}` };
}

beforeAll(() => {
  const entries = ["app", "workers", "scripts", "test", "package.json", "tsconfig.json"];
  project = copyProject("strip-demo-", [...entries, "bunfig.toml", "README.md"]);
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("bun scripts/strip-demo.ts", () => {
  test("leaves a minimal app with one route, its hooks and its tests: it type-checks, lints and its tests pass", () => {
    // The README endpoints check, the data layer's, the job queue's and the ordering recipe's
    // tests are kept when the project has them.
    const keep = [
      "readme.test.ts",
      "settings.test.ts",
      "db.test.ts",
      "migrations.test.ts",
      "jobs-pure.test.ts",
    ];
    const kept = [...keep, "migrate-dir.ts", "newest.test.ts"].filter((name) =>
      existsSync(join(project, "test", "app", name)),
    );
    const strip = run([process.execPath, "scripts/strip-demo.ts"]);
    expect(strip).toMatchObject({ code: 0 });
    const gone = ["app/routes", "app/public", "app/jobs/report.ts", "app/jobs/purge-done-todos.ts"];
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
    const readme = readFileSync(join(project, "README.md"), "utf8");
    expect(readme).not.toContain("| `PURGE_DONE_CRON`");
    expect(readme).toContain("| `JOBS_CONCURRENCY`");
    const testFiles = ["index.test.ts", ...kept].sort();
    expect(readdirSync(join(project, "test", "app")).sort()).toEqual(testFiles);
    // The rest of the tree is untouched, so checking app/ and test/app/ (with what they import)
    // covers what changed; the whole-project type check and suite run in `bun run test`.
    Bun.write(
      join(project, "tsconfig.app.json"),
      JSON.stringify({ extends: "./tsconfig.json", include: ["app", "test/app"] }),
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
    ]);
    expect(lint.out).toContain("No fixes applied");
    expect(lint.code).toBe(0);
    // The app's tests, the README tables (runtime rows and the new app's) and the layout rules.
    const tests = run([
      process.execPath,
      "test",
      // The data layer's own tests (PostgreSQL, migrations) are unchanged by the script and run
      // in the whole suite; here, what the script wrote or edited.
      "test/app/index.test.ts",
      ...(kept.includes("readme.test.ts") ? ["test/app/readme.test.ts"] : []),
      ...(kept.includes("settings.test.ts") ? ["test/app/settings.test.ts"] : []),
      ...(kept.includes("jobs-pure.test.ts") ? ["test/app/jobs-pure.test.ts"] : []),
      ...(kept.includes("newest.test.ts") ? ["test/app/newest.test.ts"] : []),
      "test/unit/readme.test.ts",
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
    // Run again, it changes nothing and still succeeds.
    expect(run([process.execPath, "scripts/strip-demo.ts"]).code).toBe(0);
    expect(readdirSync(join(project, "test", "app")).sort()).toEqual(testFiles);
  }, 60_000);
});
