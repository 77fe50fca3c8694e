import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { MiddlewareHandler } from "hono";
import { serveStatic } from "hono/serve-static";

/** Linux's limits: one file name (NAME_MAX) and a whole path (PATH_MAX, with its NUL). */
const NAME_MAX = 255;
const PATH_MAX = 4095;

/** File-system errors that mean "no such file here", not "the server is broken". */
const NOT_A_FILE = new Set(["ENAMETOOLONG", "ENOTDIR", "ELOOP", "EINVAL", "ERR_INVALID_ARG_VALUE"]);

/** Whether `path` could name a file at all: no NUL byte, no name over 255 bytes, not over 4 KiB. */
export function canNameFile(path: string): boolean {
  if (path.includes("\0")) return false;
  if (Buffer.byteLength(path) > PATH_MAX) return false;
  return path
    .split("/")
    .every((name) => name.length <= NAME_MAX / 3 || Buffer.byteLength(name) <= NAME_MAX);
}

/** `path` for a log line: at most 200 characters. */
const shown = (path: string) => (path.length > 200 ? `${path.slice(0, 200)}…` : path);

/**
 * Static files from `root`: hono's serve-static middleware (its checks: no `..` segment, no `//`,
 * no backslash, no `%` left after decoding) on `Bun.file`, as `hono/bun`'s serveStatic does, but
 * a request path that cannot name a file (an encoded NUL, a name over 255 bytes, a path over
 * 4 KiB) is not found: the next handler answers (404 JSON here), where `hono/bun`'s serveStatic
 * lets the file system's error through as a 500 whose log line carries the whole path (5 KB per
 * request for `GET /x/<5000 characters>`). `onRejected` hears about those paths (the template
 * logs them at debug level).
 */
export function staticFiles(options: {
  root: string;
  onRejected?: (path: string) => void;
}): MiddlewareHandler {
  const rejected = (path: string) => {
    options.onRejected?.(shown(path));
    return null;
  };
  return serveStatic({
    root: options.root,
    join,
    getContent: async (path) => {
      if (!canNameFile(path)) return rejected(path);
      try {
        const file = Bun.file(path);
        return (await file.exists()) ? file : null;
      } catch (error) {
        if (NOT_A_FILE.has((error as { code?: string }).code ?? "")) return rejected(path);
        throw error;
      }
    },
    isDir: async (path) => {
      if (!canNameFile(path)) return false;
      try {
        return (await stat(path)).isDirectory();
      } catch {
        return false; // missing, or not a directory: getContent decides
      }
    },
  });
}
