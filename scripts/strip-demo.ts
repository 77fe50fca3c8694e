/**
 * `bun scripts/strip-demo.ts`: drops the template's demo in one step and leaves a minimal app to
 * build on: `app/index.ts` with one route (`GET /`), `app/errors.ts` (the JSON error path),
 * `app/hooks.ts` with the data layer's hooks, and their tests in `test/app/`. It deletes the demo's
 * routes (`app/routes/`), pages (`app/public/`), the demo's jobs (`app/jobs/report.ts`,
 * `purge-done-todos.ts`, their settings), the todos migrations and their tests; the job queue
 * (the rest of `app/jobs/`, the job processes, `/admin/jobs`) stays, with an empty list of jobs.
 * In README.md it replaces the Endpoints table's `template:` rows with the new app's and drops what
 * describes the demo (the rows naming deleted files, and the passages between `<!-- demo -->` and
 * `<!-- /demo -->`). The runtime (`workers/`), its tests, the scripts, and the template's tests
 * that hold for any app (the one-file build, the database in a fleet, migrations, the job queue's
 * pure parts, the README tables) are kept, so `bun run test` stays green.
 *
 * It deletes files: in a git checkout it refuses to run while `app/`, `test/app/`,
 * `test/app-fleet/` or README.md have uncommitted changes (`--force` runs anyway). It runs once:
 * it deletes itself and its test last, since run again it would delete the new app's
 * `app/routes/`, and its test (which strips a copy of the project) would fail on the new app.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const force = process.argv.includes("--force");
const unknown = process.argv.slice(2).filter((arg) => arg !== "--force");
if (unknown.length > 0) {
  process.stderr.write(`strip-demo: unknown argument ${unknown[0]} (only --force)\n`);
  process.exit(2);
}

/** What is deleted: the demo's routes, pages and jobs (and its tests, below). */
const DEMO = ["app/routes", "app/public", "app/jobs/report.ts", "app/jobs/purge-done-todos.ts"];
/** The demo's migrations: the todos table (the job queue's tables stay). */
const DEMO_MIGRATION = /^\d+_todos[._]/;
const MIGRATIONS = join(ROOT, "app", "db", "migrations");

const JOBS_INDEX = `/**
 * The app's jobs: each module in app/jobs/ that defines one (\`defineJob\`) is listed here, so
 * the job processes know how to run it. A job with \`cron\` is also a schedule.
 */
import type { Job } from "./queue.ts";

export const jobs: Job[] = [];
`;

const INDEX = `/**
 * The app: edit freely. The fleet (workers/) imports this module in every worker and calls the
 * default export with that worker's view of the fleet; it mounts /healthz, /readyz and /admin/*
 * in front. Add routes here or in app/routes/ with \`app.route()\`; static files with
 * \`staticFiles\` from ./static.ts (it answers 404 to paths that cannot name a file); WebSockets
 * by exporting \`{ fetch, websocket }\` (see README).
 */
import { Hono } from "hono";
import type { FleetWorker } from "../workers/fleet.ts";
import { notFound, onError } from "./errors.ts";
import { configuredRateLimit } from "./rate-limit.ts";
import { withResponseHeaders } from "./response-headers.ts";

/** Builds the app for one worker. */
export function createApp(worker: FleetWorker): Hono {
  const app = new Hono();
  // RATE_LIMIT_PER_MINUTE per client for the whole fleet, across hosts with REDIS_URL.
  const limited = configuredRateLimit(worker);
  if (limited) app.use("/api/*", limited);
  app.get("/", (c) => c.text(\`Hello from worker \${worker.index}\\n\`));
  app.notFound(notFound);
  app.onError(onError);
  // Security headers and X-Request-Id on every response (app/response-headers.ts).
  return withResponseHeaders(app, worker);
}

export default createApp;
`;

const INDEX_TEST = `import { describe, expect, test } from "bun:test";
import { createApp } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

const worker = fakeWorker({ index: 3 });

describe("app/index.ts", () => {
  test("GET / says hello from its worker", async () => {
    const res = await createApp(worker).request("/");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("Hello from worker 3\\n");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  test("an unknown route is 404 JSON", async () => {
    const res = await createApp(worker).request("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Not Found" });
  });
});
`;

/**
 * Kept, by folder: the README endpoints check (it reads the routes of whatever app/index.ts
 * builds), the data layer's tests (the database client, migrations, the app settings table),
 * static files, the pub/sub ordering recipe's (app/newest.ts stays), `useTestDatabase` (a
 * throwaway database for the app's route tests) and its test, and the black-box tests
 * that hold for any app (the one-file build, the database in a fleet); the rest tests the demo's
 * routes.
 */
const KEPT_TESTS: Record<string, Set<string>> = {
  app: new Set([
    "readme.test.ts",
    "settings.test.ts",
    "db.test.ts",
    "static.test.ts",
    "newest.test.ts",
    "jobs-pure.test.ts",
    "database.ts",
    "database.test.ts",
    "db-not-open.test.ts",
  ]),
  "app-fleet": new Set([
    "binary.test.ts",
    "database-fleet.test.ts",
    "db-postgres.test.ts",
    "migrations.test.ts",
    "migrate-dir.ts",
  ]),
};

/** Edits a file of the template in place; says so when the text it expects is not there. */
function edit(path: string, pattern: RegExp, replacement: string, what: string): void {
  const file = join(ROOT, path);
  if (!existsSync(file)) return;
  const text = readFileSync(file, "utf8");
  if (!pattern.test(text)) {
    console.log(`${path}: ${what} not found as the template wrote it; left as it is`);
    return;
  }
  writeFileSync(file, text.replace(pattern, replacement));
  console.log(`${path}: ${what} removed`);
}

/** Endpoints table rows for the minimal app, in place of the demo's `template:` rows. */
const ROWS = [
  "| `GET /` | the app: `Hello from worker <i>` (app/index.ts) |",
  '| anything else | the app: 404 `{"error":"Not Found"}`; a thrown error → 500 `{"error":"Internal Server Error","requestId"}` (no stack) |',
];

/** Uncommitted changes under the paths it edits; null when this is not a git checkout. */
function gitChanges(): string | null {
  const git = Bun.spawnSync(
    ["git", "status", "--porcelain", "--", "app", "test/app", "test/app-fleet", "README.md"],
    {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  // Not a git checkout (or no git): nothing to compare with, so nothing to protect.
  return git.exitCode === 0 ? git.stdout.toString().trim() : null;
}

const inGit = gitChanges() !== null;
const changes = force ? "" : (gitChanges() ?? "");
if (changes) {
  process.stderr.write(
    `strip-demo: uncommitted changes that it would delete or overwrite:\n${changes}\nCommit or stash them first, or run with --force.\n`,
  );
  process.exit(1);
}

for (const path of DEMO) {
  if (existsSync(join(ROOT, path))) {
    rmSync(join(ROOT, path), { recursive: true, force: true });
    console.log(`deleted ${path}`);
  }
}
if (existsSync(MIGRATIONS)) {
  for (const name of readdirSync(MIGRATIONS).filter((file) => DEMO_MIGRATION.test(file))) {
    rmSync(join(MIGRATIONS, name));
    console.log(`deleted app/db/migrations/${name}`);
  }
}
for (const [folder, kept] of Object.entries(KEPT_TESTS)) {
  const dir = join(ROOT, "test", folder);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    if (kept.has(name)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    console.log(`deleted test/${folder}/${name}`);
  }
}
const tests = join(ROOT, "test", "app");
mkdirSync(tests, { recursive: true });
writeFileSync(join(ROOT, "app", "index.ts"), INDEX);
writeFileSync(join(tests, "index.test.ts"), INDEX_TEST);
if (existsSync(join(ROOT, "app", "jobs", "queue.ts"))) {
  writeFileSync(join(ROOT, "app", "jobs", "index.ts"), JOBS_INDEX);
  console.log("wrote app/jobs/index.ts (no jobs yet; the queue stays)");
}
console.log("wrote app/index.ts (GET /), test/app/index.test.ts");
edit(
  "app/config.ts",
  /\n {2}PURGE_DONE_CRON: z[\s\S]*?\n {4}\),\n {2}PURGE_DONE_AFTER_S: z[\s\S]*?\.describe\("[^"]*"\),/,
  "",
  "the demo schedule's settings",
);
edit(
  "app/config.ts",
  /\nimport \{ cronProblem \} from "\.\/jobs\/cron\.ts";/,
  "",
  "the demo schedule's cron check",
);

const readmePath = join(ROOT, "README.md");
if (existsSync(readmePath)) {
  const demoSetting = (line: string) => /^\| `PURGE_DONE_(CRON|AFTER_S)` \|/.test(line);
  // A table row whose first cell names what was deleted describes nothing any more.
  const deletedRow = (line: string) =>
    /^\| `app\/(routes|public|jobs\/report\.ts|jobs\/purge-done-todos\.ts)[/`]/.test(line);
  // A passage on lines of its own goes with its line ends; one inside a line goes alone, so the
  // blank line (or code fence) after that line stays. Blank lines left doubled become one.
  const lines = readFileSync(readmePath, "utf8")
    .replace(/^<!-- demo -->\n[\s\S]*?<!-- \/demo -->\n/gm, "")
    .replace(/<!-- demo -->[\s\S]*?<!-- \/demo -->/g, "")
    .replace(/\n{3,}/g, "\n\n")
    .split("\n")
    .filter((line) => !demoSetting(line) && !deletedRow(line));
  const demoRow = (line: string) => /^\|[^|]*\| template: /.test(line);
  const first = lines.findIndex(demoRow);
  if (first !== -1) lines.splice(first, 0, ...ROWS);
  writeFileSync(readmePath, lines.filter((line) => !demoRow(line)).join("\n"));
  console.log(
    "README.md: the demo's passages dropped; the Endpoints table's template rows describe the new app",
  );
}
// One use only (see the top of this file).
for (const path of ["scripts/strip-demo.ts", "test/fleet/strip-demo.test.ts"]) {
  if (!existsSync(join(ROOT, path))) continue;
  rmSync(join(ROOT, path));
  console.log(`deleted ${path} (it runs once)`);
}
// A start before the strip migrated the demo's tables into the default SQLite file; they stay
// there (and its record of migrations no file has now: `bun run migrate -- --status`).
if (existsSync(join(ROOT, "data", "app.db"))) {
  console.log(
    "data/app.db still holds the demo's tables (todos) and its migrations' records: delete data/ before the next start unless it holds data you keep",
  );
}
if (inGit) {
  console.log(
    "the demo stays in git's history: `git show HEAD:app/routes/todos.ts` is a database CRUD route to copy",
  );
}
console.log("done: run `bun run test`, then `bun run start`.");
