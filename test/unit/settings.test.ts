import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { helpText, markdownTable, SETTINGS } from "../../workers/settings.ts";

describe("settings", () => {
  test("the README's configuration table is the one derived from the declarations", () => {
    const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
    const start = readme.indexOf("| env | flag | default | meaning |");
    const end = readme.indexOf("\n\n", start);
    // On failure: paste the output of `bun scripts/config-table.ts` into the README.
    expect(readme.slice(start, end)).toBe(markdownTable());
  });

  test("--help lists every setting's env name", () => {
    const help = helpText();
    for (const spec of Object.values(SETTINGS)) expect(help).toContain(spec.env);
  });

  test("--help shows `--` before the options for bun run only, not for the one-file build", () => {
    expect(helpText().split("\n")[0]).toBe("Usage: bun run start -- [options]");
    expect(helpText("bun run dev").split("\n")[0]).toBe("Usage: bun run dev -- [options]");
    expect(helpText("bun-fleet").split("\n")[0]).toBe("Usage: bun-fleet [options]");
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
