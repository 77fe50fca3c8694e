/**
 * Parsers for setting values: each turns the raw string of a flag or env variable into a typed
 * value, or says in a few words what is wrong. Hand-written rather than zod: zod is the only
 * thing the primary would load it for, and it cost the primary 11.5 MB of RSS (24.0 -> 35.5 MB
 * for a bare `bun` importing it, median of 6) and ~40 ms of start-up.
 */

import type { Result } from "./checks.ts";

/** Parses one raw string (from a flag or env) into a setting's value. */
export type Parser<T> = (raw: string) => Result<T>;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (error: string): Result<never> => ({ ok: false, error });

/** A whole number in `min..max` (surrounding blanks allowed). */
export function whole(min: number, max: number): Parser<number> {
  const message = `must be a whole number from ${min} to ${max}`;
  return (raw) => {
    if (!/^\s*\d+\s*$/.test(raw)) return fail(message);
    const n = Number(raw);
    return n >= min && n <= max ? ok(n) : fail(message);
  };
}

/** A non-empty string after trimming. */
export const text =
  (message: string): Parser<string> =>
  (raw) => {
    const value = raw.trim();
    return value ? ok(value) : fail(message);
  };

/** A file path (non-empty; resolved against the working directory later). */
export const path: Parser<string> = text("must be a file path");

/** On or off: 1/0, true/false, yes/no, on/off (any case). A bare boolean flag reads as "true". */
export const bool: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return ok(true);
  if (["0", "false", "no", "off"].includes(value)) return ok(false);
  return fail("must be 1 or 0 (also true/false, yes/no, on/off)");
};

/** One of a fixed set of words. */
export function choice<const T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim();
    return (values as string[]).includes(value)
      ? ok(value as T)
      : fail(`must be one of ${values.join(", ")}`);
  };
}

/** A URL with one of the given protocols (e.g. "redis:", "rediss:"). */
export function url(...protocols: string[]): Parser<string> {
  const message = `must be a ${protocols.map((p) => `${p}//`).join(" or ")} URL`;
  return (raw) => {
    const value = raw.trim();
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol) || !parsed.hostname) return fail(message);
      return ok(value);
    } catch {
      return fail(message);
    }
  };
}

/** A string that matches `pattern` and has at least `minLength` characters. */
export function matching(pattern: RegExp, message: string, minLength: number, short: string) {
  return (raw: string): Result<string> => {
    if (!pattern.test(raw)) return fail(message);
    return raw.length >= minLength ? ok(raw) : fail(short);
  };
}

/** `parser`, then a further check on its value. */
export function refine<T>(parser: Parser<T>, check: (value: T) => boolean, message: string) {
  return (raw: string): Result<T> => {
    const parsed = parser(raw);
    return !parsed.ok || check(parsed.value) ? parsed : fail(message);
  };
}

/** A non-empty JSON array (of any JSON values). */
export const jsonArray: Parser<unknown[]> = (raw) => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return fail(`is not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(value)) return fail("must be a JSON array");
  return value.length ? ok(value) : fail("must be a non-empty JSON array");
};
