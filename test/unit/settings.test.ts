import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settings as templateAppSettings } from "../../app/config.ts";
import { appMarkdownTable, appSettingRows } from "../../workers/primary/config/app-settings.ts";
import { helpText, markdownTable, SETTINGS } from "../../workers/primary/config/settings.ts";
import { jsonProblem } from "../../workers/primary/start/hooks.ts";

describe("settings", () => {
  test("the README's configuration table is the one derived from the declarations", () => {
    const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
    const start = readme.indexOf("| env | flag | default | meaning |");
    const end = readme.indexOf("\n\n", start);
    // On failure: paste the output of `bun scripts/config-table.ts` into the README.
    expect(readme.slice(start, end)).toBe(markdownTable());
  });

  test("the README's app settings table is the one derived from app/config.ts", () => {
    const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
    const start = readme.indexOf("| app setting (env) | default | meaning |");
    const end = readme.indexOf("\n\n", start);
    // On failure: paste the second table `bun scripts/config-table.ts` prints into the README.
    expect(readme.slice(start, end)).toBe(appMarkdownTable(appSettingRows(templateAppSettings)));
  });

  test("--help lists every setting's env name", () => {
    const help = helpText();
    for (const spec of Object.values(SETTINGS)) expect(help).toContain(spec.env);
  });

  test("each default passes its own parser", () => {
    for (const [key, spec] of Object.entries(SETTINGS)) {
      if ("default" in spec) {
        expect({ key, ok: spec.parse(String(spec.default)).ok }).toEqual({
          key,
          ok: true,
        });
      }
    }
  });
});

describe("jsonProblem", () => {
  test("plain JSON passes", () => {
    expect(jsonProblem({ a: [1, "x", null, true, { b: 2 }] })).toBeNull();
    expect(jsonProblem(Object.create(null))).toBeNull();
  });

  test.each([
    [{ when: new Date(0) }, "result.when is a Date"],
    [{ list: [1, () => 2] }, "result.list[1] is function"],
    [{ n: Number.NaN }, "result.n is NaN"],
    [undefined, "result is undefined"],
    [new Map(), "result is a Map"],
    [{ big: 1n }, "result.big is bigint"],
  ])("%p is refused: %s", (value, problem) => {
    expect(jsonProblem(value)).toBe(problem);
  });
});
