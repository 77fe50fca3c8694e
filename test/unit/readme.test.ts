import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fleetRoutes } from "../../workers/child/http/fleet-routes.ts";
import { ExitCode } from "../../workers/exit-codes.ts";
import { PRIMARY_SIGNALS } from "../../workers/primary/signals.ts";

/**
 * The README's contract tables are kept honest against the runtime they describe (the template
 * app's rows are checked by test/app/readme.test.ts, which is the user's).
 */
const README = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");

/** The first cell of every row of the table under `heading`. */
function firstCells(heading: string): string[] {
  const section = README.slice(README.indexOf(`## ${heading}`));
  const table = section.slice(section.indexOf("\n|")).split("\n\n")[0] as string;
  return table
    .split("\n")
    .filter((row) => row.startsWith("|"))
    .slice(2) // header and separator
    .map((row) => (row.split("|")[1] as string).trim());
}

/** "METHOD /path" for every concrete route of a Hono app (middleware `ALL` entries left out). */
function routesOf(app: { routes: { method: string; path: string }[] }): string[] {
  const routes = app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`);
  return [...new Set(routes)];
}

describe("README contract tables", () => {
  test("the exit codes table lists exactly the primary's exit codes", () => {
    const documented = firstCells("Exit codes").map(Number);
    expect(documented.sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  test("the signals table covers exactly the signals the primary handles", () => {
    const documented = firstCells("Signals").flatMap((cell) => cell.match(/SIG[A-Z]+/g) ?? []);
    expect(documented.sort()).toEqual([...PRIMARY_SIGNALS].sort());
  });

  test("every fleet route is in the endpoints table", () => {
    const documented = firstCells("Endpoints").map((cell) => cell.replaceAll("`", ""));
    const fleet = fleetRoutes({
      adminToken: "readme-test-token-0123",
      isDraining: () => false,
      requestStop: () => {},
      requestReload: () => {},
      requestScale: () => {},
      observe: {
        metricsPublic: false,
        collect: async () => null,
        history: async () => null,
      },
    });
    const routes = routesOf(fleet);
    expect(routes.length).toBeGreaterThan(5);
    expect(routes.filter((route) => !documented.includes(route))).toEqual([]);
  });
});
