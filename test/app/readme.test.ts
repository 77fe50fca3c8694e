import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

const README = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");

/** The first cell of every row of README.md's Endpoints table, backticks removed. */
function documentedEndpoints(): string[] {
  const section = README.slice(README.indexOf("## Endpoints"));
  const table = section.slice(section.indexOf("\n|")).split("\n\n")[0] as string;
  return table
    .split("\n")
    .filter((row) => row.startsWith("|"))
    .slice(2) // header and separator
    .map((row) => (row.split("|")[1] as string).trim().replaceAll("`", ""));
}

/** "METHOD /path" for every concrete route of a Hono app (middleware `ALL` entries left out). */
function routesOf(app: { routes: { method: string; path: string }[] }): string[] {
  const routes = app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`);
  return [...new Set(routes)];
}

test("every route of app/index.ts is in README.md's Endpoints table", () => {
  const routes = routesOf(createApp(fakeWorker()));
  expect(routes.length).toBeGreaterThan(0);
  const documented = documentedEndpoints();
  const missing = routes.filter((route) => !documented.includes(route));
  if (missing.length > 0) {
    throw new Error(
      `routes missing from the README: ${missing.join(", ")}. Add these rows to README.md's Endpoints table, or delete this check (test/app/readme.test.ts).`,
    );
  }
});
