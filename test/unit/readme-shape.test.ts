import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/fleet.ts";

/**
 * The root README is the how-to an app builder reads in one sitting: at most 700 lines, with what
 * they need first. Figures, measurements and design arguments go beside what they describe
 * (workers/, deploy/, scripts/bench/, app/db/, app/jobs/ each have a README), linked from it.
 */
const MAX_LINES = 700;
const EARLY_WITHIN = 350;
const EARLY_SECTIONS = [
  "The commands",
  "Using it as a template",
  "State across workers",
  "Database",
  "Testing your app",
];

/** Lines as an editor numbers them (a final newline ends the last line, it does not add one). */
export function lineCount(markdown: string): number {
  if (markdown === "") return 0;
  return markdown.split("\n").length - (markdown.endsWith("\n") ? 1 : 0);
}

/** The 1-based line of the `## heading` (outside fenced code), or -1 when there is none. */
export function headingLine(markdown: string, heading: string): number {
  let fenced = false;
  const lines = markdown.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.startsWith("```")) fenced = !fenced;
    else if (!fenced && line.trimEnd() === `## ${heading}`) return i + 1;
  }
  return -1;
}

describe("README shape", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  test("lines and headings are counted as an editor shows them", () => {
    expect(lineCount("a\nb\n")).toBe(2);
    expect(lineCount("a\nb")).toBe(2);
    expect(headingLine("# T\n```\n## Database\n```\n\n## Database\n", "Database")).toBe(6);
    expect(headingLine("## Databases\n", "Database")).toBe(-1);
  });

  test(`the root README is a how-to of at most ${MAX_LINES} lines`, () => {
    // Over the limit? Move figures and design arguments to the README beside what they describe
    // and link it; keep here what to set, what happens, and the link.
    expect(lineCount(readme)).toBeLessThanOrEqual(MAX_LINES);
  });

  test(`its first sections start within its first ${EARLY_WITHIN} lines`, () => {
    const late = EARLY_SECTIONS.map((heading) => ({ heading, line: headingLine(readme, heading) }))
      .filter(({ line }) => line < 1 || line > EARLY_WITHIN)
      .map(({ heading, line }) => (line < 1 ? `${heading}: missing` : `${heading}: line ${line}`));
    expect(late).toEqual([]);
  });
});
