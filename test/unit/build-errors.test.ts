import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  codeFrame,
  headline,
  sourceErrors,
  withCodeFrames,
} from "../../workers/child/build-errors.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fleet-build-errors-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What `import()` of a module with `source` throws (Bun's own error objects). */
async function importError(name: string, source: string): Promise<unknown> {
  const file = join(dir, name);
  writeFileSync(file, source);
  try {
    await import(file);
  } catch (error) {
    return error;
  }
  throw new Error(`${name} imported without an error`);
}

describe("build errors", () => {
  test("one syntax error: its message, place and a caret under the column (tabs kept)", async () => {
    const error = await importError("one.ts", "export const a = 1;\n\tconst b = ;\n");
    const errors = sourceErrors(error);
    const file = relative(process.cwd(), join(dir, "one.ts"));
    expect(errors).toEqual([
      { message: "Unexpected ;", file, line: 2, column: 12, lineText: "\tconst b = ;" },
    ]);
    expect(headline(errors)).toBe(`Unexpected ; (${file}:2:12)`);
    expect(codeFrame(errors[0] as (typeof errors)[0])).toBe(
      "    2 | \tconst b = ;\n      | \t          ^",
    );
  });

  test("an AggregateError of several: every one, in text under the line, in json as a field", async () => {
    const error = await importError("three.ts", "const a = 1;\nconst a = 2;\nlet b;\nlet b;\n");
    expect((error as Error).message).toMatch(/^2 errors building "/); // what Bun says alone
    const errors = sourceErrors(error);
    const file = relative(process.cwd(), join(dir, "three.ts"));
    expect(errors.map((e) => [e.message, e.line, e.column])).toEqual([
      ['"a" has already been declared', 2, 7],
      ['"b" has already been declared', 4, 5],
    ]);
    expect(headline(errors)).toBe(`2 errors building ${file}`);
    const [text, fields] = withCodeFrames("failed to boot: x", errors, "text");
    expect(fields).toEqual({});
    expect(text.split("\n")).toEqual([
      "failed to boot: x",
      `  "a" has already been declared (${file}:2:7)`,
      "    2 | const a = 2;",
      "      |       ^",
      `  "b" has already been declared (${file}:4:5)`,
      "    4 | let b;",
      "      |     ^",
    ]);
    expect(withCodeFrames("failed to boot: x", errors, "json")).toEqual([
      "failed to boot: x",
      { errors },
    ]);
  });

  test("errors that are not build errors give none, and the message alone", () => {
    expect(sourceErrors(new Error("boom"))).toEqual([]);
    expect(sourceErrors(new AggregateError([new Error("a")], "any failed"))).toEqual([]);
    expect(sourceErrors("a string")).toEqual([]);
    expect(sourceErrors(null)).toEqual([]);
    expect(withCodeFrames("failed to boot: boom", [], "text")).toEqual([
      "failed to boot: boom",
      {},
    ]);
  });
});
