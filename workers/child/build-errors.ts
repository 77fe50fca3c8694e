import type { Fields } from "../log.ts";
import { shown } from "../modules.ts";

/**
 * Bun's errors for a module that does not build (a syntax error, a name declared twice): one
 * `BuildMessage` (or `ResolveMessage`), or an `AggregateError` of them (`3 errors building
 * "…/polls.ts"`) whose message names no line. Each carries its place in `position`
 * ({file, line, column (1-based), lineText}); this turns them into what an editor shows.
 */

/** One error at one place of a source file. */
export interface SourceError {
  message: string;
  /** As the user would write it: relative to the working directory. */
  file: string;
  line: number;
  column: number;
  lineText: string;
}

interface Position {
  file?: unknown;
  line?: unknown;
  column?: unknown;
  lineText?: unknown;
}

function sourceError(error: unknown): SourceError | null {
  if (typeof error !== "object" || error === null) return null;
  const at = (error as { position?: Position | null }).position;
  if (!at || typeof at.file !== "string" || typeof at.line !== "number") return null;
  return {
    message: String((error as { message?: unknown }).message ?? error),
    file: shown(at.file),
    line: at.line,
    column: typeof at.column === "number" ? at.column : 0,
    lineText: typeof at.lineText === "string" ? at.lineText : "",
  };
}

/** The placed errors in what `import()` threw; empty when it is not a build error. */
export function sourceErrors(error: unknown): SourceError[] {
  const one = sourceError(error);
  if (one) return [one];
  const list = (error as { errors?: unknown } | null)?.errors;
  if (!(error instanceof AggregateError) || !Array.isArray(list)) return [];
  const placed = list.map(sourceError);
  return placed.every((e) => e !== null) ? (placed as SourceError[]) : [];
}

/** `message (file:line:column)`. */
export const placed = (e: SourceError) => `${e.message} (${e.file}:${e.line}:${e.column})`;

/** One line naming what failed: the error and its place, or how many errors and where. */
export function headline(errors: SourceError[]): string {
  const [first] = errors;
  if (!first) return "";
  if (errors.length === 1) return placed(first);
  const files = [...new Set(errors.map((e) => e.file))];
  return `${errors.length} errors building ${files.join(", ")}`;
}

/**
 * The line of code with a caret under the column, as Bun and esbuild print it:
 *
 *     49 | export const broken = ;
 *        |                       ^
 */
export function codeFrame(e: SourceError): string {
  const number = String(e.line);
  const text = e.lineText.replace(/\s+$/, "");
  // Tabs stay tabs in the caret line, so the caret sits under the column in any editor.
  const before = text.slice(0, Math.max(0, e.column - 1)).replace(/[^\t]/g, " ");
  const gutter = " ".repeat(number.length);
  return `    ${number} | ${text}\n    ${gutter} | ${before}^`;
}

/**
 * The log line's message and fields for `errors`: in text, every error with its place and code
 * frame on the lines under `message` (one error: its frame only, the place is in `message`); in
 * json, the errors as an `errors` field, so the line stays one object. No errors: `message`.
 */
export function withCodeFrames(
  message: string,
  errors: SourceError[],
  format: "text" | "json",
): [string, Fields] {
  if (!errors.length) return [message, {}];
  if (format === "json") return [message, { errors }];
  const lines = errors.map((e) =>
    errors.length === 1 ? codeFrame(e) : `  ${placed(e)}\n${codeFrame(e)}`,
  );
  return [`${message}\n${lines.join("\n")}`, {}];
}
