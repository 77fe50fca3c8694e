/**
 * DATABASE_URL, read: which database, and how to name it in a log line without its password.
 *
 *   unset                      → SQLite file data/app.db under the working directory
 *   sqlite://PATH, file:PATH   → that SQLite file (relative to the working directory)
 *   postgres://, postgresql:// → PostgreSQL; `?prepare=false` turns off named prepared
 *                                statements (what a transaction pooler such as PgBouncer needs)
 */
import { resolve } from "node:path";

export type Target =
  | { dialect: "sqlite"; file: string; shown: string }
  | {
      dialect: "postgres";
      /** The URL without `prepare` (the client gets it as an option, never as a parameter). */
      url: string;
      shown: string;
      /** Named prepared statements (Bun's `prepare`): off with `?prepare=false`. */
      prepare: boolean;
    };

/** Where the SQLite database lives when DATABASE_URL is unset. */
export const DEFAULT_SQLITE_FILE = "data/app.db";

/** A DATABASE_URL in words, or what is wrong with it (never echoing it: it may hold a password). */
export function parseDatabaseUrl(
  raw: string | undefined,
  cwd = process.cwd(),
): Target | { error: string } {
  if (raw === undefined || raw === "") {
    const file = resolve(cwd, DEFAULT_SQLITE_FILE);
    return { dialect: "sqlite", file, shown: DEFAULT_SQLITE_FILE };
  }
  const lower = raw.toLowerCase();
  if (lower.startsWith("sqlite:") || lower.startsWith("file:")) {
    let rest = raw.slice(raw.indexOf(":") + 1);
    if (rest.startsWith("//")) rest = rest.slice(2); // sqlite://data/x.db, sqlite:///abs/x.db
    const path = decodeURIComponent(rest.split("?")[0] ?? "");
    if (!path || path === ":memory:") {
      return { error: "must name a SQLite file (sqlite://PATH or file:PATH)" };
    }
    return { dialect: "sqlite", file: resolve(cwd, path), shown: path };
  }
  if (lower.startsWith("postgres://") || lower.startsWith("postgresql://")) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { error: "is not a valid postgres:// URL" };
    }
    if (!url.hostname) return { error: "must name a host (postgres://user:pw@host:5432/db)" };
    const db = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username);
    const prepare = url.searchParams.getAll("prepare");
    if (prepare.length > 1 || (prepare[0] !== undefined && !/^(true|false)$/.test(prepare[0]))) {
      return {
        error: "may set prepare once, to true or false (?prepare=false behind PgBouncer)",
      };
    }
    return {
      dialect: "postgres",
      url: prepare.length ? withoutParam(raw, "prepare") : raw,
      shown: `${url.hostname}:${url.port || 5432}/${db}`,
      prepare: prepare[0] !== "false",
    };
  }
  return { error: "must be sqlite://PATH, file:PATH, postgres:// or postgresql:// (or unset)" };
}

/** `raw` without the query parameter `name` (the other parameters untouched, byte for byte). */
function withoutParam(raw: string, name: string): string {
  const hash = raw.indexOf("#");
  const end = hash === -1 ? raw.length : hash;
  const start = raw.indexOf("?");
  if (start === -1 || start > end) return raw;
  const kept = raw
    .slice(start + 1, end)
    .split("&")
    .filter((pair) => pair !== "" && decodeURIComponent(pair.split("=")[0] ?? "") !== name);
  return `${raw.slice(0, start)}${kept.length ? `?${kept.join("&")}` : ""}${raw.slice(end)}`;
}
