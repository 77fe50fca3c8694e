/**
 * `bun run bench -- --readme` writes the report between the README's bench markers: the splice
 * replaces only that block, refuses a README without (or with doubled) markers, and the block in
 * scripts/bench/README.md (the benchmark's own README, not the root one) starts with the run's date
 * and its machine.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BEGIN, BENCH_README, END, reportBlock, spliceReport } from "../../scripts/bench/readme.ts";
import { formatRun, type RunResult } from "../../scripts/bench/report.ts";

const ROOT_README = resolve(import.meta.dir, "../../README.md");

describe("bench --readme", () => {
  test("replaces the block between the markers and leaves the rest byte for byte", () => {
    const before = `# T\n\nprose ±1\n\n${BEGIN}\nold report\n| a |\n${END}\n\nafter\n`;
    const after = spliceReport(before, "new report\n| b |\n");
    expect(after).toBe(`# T\n\nprose ±1\n\n${BEGIN}\nnew report\n| b |\n${END}\n\nafter\n`);
    expect(reportBlock(after)).toBe("new report\n| b |");
    // twice gives the same file
    expect(spliceReport(after, "new report\n| b |")).toBe(after);
  });

  test("refuses a README whose markers are missing, doubled or reversed, naming the marker", () => {
    expect(() => spliceReport("no markers", "r")).toThrow(`README.md has no ${BEGIN} marker`);
    expect(() => spliceReport(`${BEGIN}\n`, "r")).toThrow(`README.md has no ${END} marker`);
    expect(() => spliceReport(`${END}\n${BEGIN}\n`, "r")).toThrow("exactly one");
    expect(() => spliceReport(`${BEGIN}${BEGIN}${END}`, "r")).toThrow("exactly one");
  });

  test("the report starts with the date and the machine; a smoke run says so first", () => {
    const machine = {
      cores: 2,
      cpuModel: "Some CPU",
      bun: "1.4.5",
      node: "v20.20.2",
      deno: "2.9.6",
      loadBefore: 1.5,
      loadAfter: 2.25,
      startedAt: "2026-12-02T00:50:01.000Z",
      finishedAt: "2026-12-02T01:08:30.000Z",
    };
    const run: RunResult = { command: "bun run bench", quick: false, machine, targets: [] };
    const [first, , second] = formatRun(run, true).split("\n");
    expect(first).toBe("`bun run bench`, 2026-12-02 00:50–01:08 UTC.");
    expect(second).toBe(
      "Machine: nproc 2, Some CPU; Bun 1.4.5, Node v20.20.2, Deno 2.9.6, PM2 not measured; load average (1 min) 1.50 at start, 2.25 at end.",
    );
    const smoke = formatRun({ ...run, quick: true }, true).split("\n")[0];
    expect(smoke).toStartWith("SMOKE RUN, not a measurement: `bun run bench`, 2026-12-02");
  });

  test("scripts/bench/README.md holds one generated block that starts with a date line and a machine line", () => {
    const block = reportBlock(readFileSync(BENCH_README, "utf8"));
    expect(block).not.toBeNull();
    const [first, , second] = (block ?? "").split("\n");
    expect(first).toMatch(/`bun run bench[^`]*`, \d{4}-\d{2}-\d{2} \d{2}:\d{2}[– ]/);
    expect(second).toMatch(
      /^Machine: nproc \d+, .+; Bun [\d.]+, Node v[\d.]+, Deno .+, PM2 .+; load average/,
    );
    expect(block).toContain("| target | measured | limit | result |");
  });

  test("--readme writes scripts/bench/README.md; the root README holds no figures block but links there", () => {
    expect(BENCH_README).toBe(resolve(import.meta.dir, "../../scripts/bench/README.md"));
    const root = readFileSync(ROOT_README, "utf8");
    expect(root).not.toContain(BEGIN);
    expect(root).toContain("(scripts/bench/README.md)");
  });
});
