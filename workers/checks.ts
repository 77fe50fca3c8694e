/**
 * Field checks for what crosses the process boundary (IPC messages, the spawn env): typed shape
 * tables rather than zod, since workers load them and zod would add ~14 MB and ~50 ms to every
 * worker whose app does not use it (measured).
 */

/** A field's check: what it must be, or null when `value` is fine. */
export type Check = (value: unknown) => string | null;

export const text: Check = (v) => (typeof v === "string" ? null : "must be a string");
export const reason: Check = (v) =>
  typeof v === "string" && v !== "" ? null : "must be a stop reason";
export const count =
  (min: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min ? null : `must be an integer >= ${min}`;
export const finite: Check = (v) =>
  typeof v === "number" && Number.isFinite(v) ? null : "must be a number";
export const oneOf =
  (...values: string[]): Check =>
  (v) =>
    values.includes(v as string) ? null : `must be one of ${values.join(", ")}`;

export const nonEmpty: Check = (v) =>
  typeof v === "string" && v !== "" ? null : "must be a non-empty string";
export const flag: Check = (v) => (typeof v === "boolean" ? null : "must be true or false");

export const anything: Check = () => null; // JSON.parse only yields JSON

/**
 * A value, or what is wrong in a few words: the one result type of every reader of outside input
 * (a setting's raw string, an IPC message, the spawn env).
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** Checks `raw` field by field against `shape`; names the first field that is wrong. */
export function checkShape<T>(
  raw: Record<string, unknown>,
  shape: Record<string, Check>,
  at: string,
): Result<T> {
  for (const [field, check] of Object.entries(shape)) {
    const problem = check(raw[field]);
    if (problem) return { ok: false, error: `${at}${field}: ${problem}` };
  }
  return { ok: true, value: raw as T };
}
