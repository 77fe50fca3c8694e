import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

/** Every .ts file under `dir`, relative to the project root. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** The project files a source file imports (static, dynamic and type-only), root-relative. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specifiers = [
    ...text.matchAll(/(?:from\s+|import\s*\(\s*|^import\s+)"(\.{1,2}\/[^"]+)"/gm),
  ];
  return specifiers.map((m) => relative(ROOT, resolve(dirname(join(ROOT, file)), m[1] as string)));
}

function crossings(from: string, forbidden: string): string[] {
  return sources(from).flatMap((file) =>
    importsOf(file)
      .filter((target) => target.startsWith(forbidden))
      .map((target) => `${file} -> ${target}`),
  );
}

describe("the process boundary in the tree", () => {
  test("finds the imports it checks (the scan itself works)", () => {
    expect(importsOf("workers/primary/main.ts")).toContain("workers/primary/primary.ts");
    expect(importsOf("workers/child/main.ts")).toContain("workers/child/worker-runtime.ts");
  });

  test("nothing under workers/child/ imports from workers/primary/", () => {
    expect(crossings("workers/child", "workers/primary/")).toEqual([]);
  });

  test("nothing under workers/primary/ imports from workers/child/", () => {
    expect(crossings("workers/primary", "workers/child/")).toEqual([]);
  });

  test("shared files at the workers/ root import neither side", () => {
    const shared = sources("workers").filter(
      (file) => !file.slice("workers/".length).includes("/"),
    );
    expect(shared.length).toBeGreaterThan(3);
    const bad = shared.flatMap((file) =>
      importsOf(file).filter(
        (t) => t.startsWith("workers/primary/") || t.startsWith("workers/child/"),
      ),
    );
    expect(bad).toEqual([]);
  });

  test("app/ takes from workers/ only the public types, type-only (workers/fleet.ts)", () => {
    expect(crossings("app", "workers/").filter((c) => !c.endsWith("-> workers/fleet.ts"))).toEqual(
      [],
    );
    const valueImports = sources("app").filter((file) =>
      /^import\s+(?!type\b)[^;]*from\s+"[^"]*workers\/fleet\.ts"/m.test(
        readFileSync(join(ROOT, file), "utf8"),
      ),
    );
    expect(valueImports).toEqual([]);
  });

  test("nothing under test/ outside test/app/ and test/app-fleet/, and nothing under scripts/, imports from app/", () => {
    // The scan reads test files too: a fixture's import of the test app is seen.
    expect(importsOf("test/fixtures/slow-app.ts")).toContain("test/fixtures/base-app/index.ts");
    const outside = crossings("test", "app/").filter(
      (c) => !c.startsWith("test/app/") && !c.startsWith("test/app-fleet/"),
    );
    expect(outside).toEqual([]);
    // scripts/migrate.ts is the template's release command (app/db's migrations), deleted with it.
    const scripts = crossings("scripts", "app/");
    expect(scripts.filter((c) => !c.startsWith("scripts/migrate.ts ->"))).toEqual([]);
  });
});
