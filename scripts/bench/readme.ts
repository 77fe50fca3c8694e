/**
 * `bun run bench -- --readme`: the figures of scripts/bench/README.md are generated, not copied
 * by hand. The report replaces whatever stands between the two markers; the rest of the file is
 * kept byte for byte.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where `--readme` writes: the benchmark's own README, beside its code (not the root README). */
export const BENCH_README = join(import.meta.dir, "README.md");

export const BEGIN = "<!-- bench:begin -->";
export const END = "<!-- bench:end -->";

/** `text` with the block between the markers replaced by `report`; throws when they are amiss. */
export function spliceReport(text: string, report: string): string {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < 0)
    throw new Error(
      `README.md has no ${begin < 0 ? BEGIN : END} marker: put ${BEGIN} and ${END} on lines of their own where the report goes`,
    );
  if (end < begin || text.indexOf(BEGIN, begin + 1) >= 0 || text.indexOf(END, end + 1) >= 0)
    throw new Error(`README.md must hold exactly one ${BEGIN}, followed by exactly one ${END}`);
  return `${text.slice(0, begin + BEGIN.length)}\n${report.trim()}\n${text.slice(end)}`;
}

/** The report block currently in `text` (between the markers), trimmed; null without markers. */
export function reportBlock(text: string): string | null {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  return begin < 0 || end < begin ? null : text.slice(begin + BEGIN.length, end).trim();
}

/** Writes `report` into the README at `path`. */
export function writeReadme(path: string, report: string): void {
  writeFileSync(path, spliceReport(readFileSync(path, "utf8"), report));
}
