/** Number and table formatting shared by the report's sections. */
import type { Spread } from "./stats.ts";

/** An integer with thousands separators (`76,230`). */
export const int = (n: number) =>
  Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–";

/** A number with precision that fits its magnitude (`0.68`, `37.6`, `161`). */
export function num(n: number): string {
  if (!Number.isFinite(n)) return "–";
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString();
}

/** Megabytes with one decimal. */
export const mb = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");

/** `median (min–max)`, or just the median for one sample. */
export const range = (s: Spread | null, fmt: (n: number) => string) =>
  !s ? "–" : s.n === 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

/** Pads columns: the first left-aligned, the rest right-aligned; or a markdown table. */
export function table(header: string[], rows: string[][], markdown = false): string {
  if (markdown) {
    const md = (row: string[]) => `| ${row.join(" | ")} |`;
    const rule = header.map((_, i) => (i === 0 ? "---" : "---:"));
    return [md(header), md(rule), ...rows.map(md)].join("\n");
  }
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
