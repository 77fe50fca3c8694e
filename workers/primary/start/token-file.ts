import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

/**
 * The generated admin token, for the CLI on the same machine (as PM2 and supervisord keep a
 * socket or secret beside their pid file): `bun-fleet/port-<PORT>.token`, mode 0600, in a 0700
 * directory of this user under $XDG_RUNTIME_DIR (else the OS temp dir). Written only when
 * ADMIN_TOKEN was not set, removed at exit.
 */

/** This user's id (no node:os: it costs the primary ~1.6 MB of RSS for these two facts). */
const uid = () => process.getuid?.() ?? 0;

/** The per-user directory holding token files. */
export function tokenDir(env: Record<string, string | undefined> = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime) return join(runtime, "bun-fleet");
  const temp = env.TMPDIR || env.TMP || env.TEMP || "/tmp"; // what os.tmpdir() reads on POSIX
  return join(temp, `bun-fleet-${uid()}`);
}

/** Where the fleet on `port` keeps its generated token. */
export function tokenFilePath(port: number, env = process.env): string {
  return join(tokenDir(env), `port-${port}.token`);
}

/** Refuses a directory another user could read or swap (a shared temp dir). */
function checkDir(dir: string): void {
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid() || (stat.mode & 0o077) !== 0) {
    throw new Error(`${dir} must be a directory owned by uid ${uid()} with mode 0700`);
  }
}

/** Writes `token` for the fleet on `port`; returns the path, or throws saying why not. */
export function writeTokenFile(port: number, token: string, env = process.env): string {
  const dir = tokenDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkDir(dir);
  const path = tokenFilePath(port, env);
  rmSync(path, { force: true }); // a stale file of a fleet that was killed
  const fd = openSync(path, "wx", 0o600); // never through a planted file or link
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Removes the token file if it still holds `token` (another fleet may own the port now). */
export function removeTokenFile(port: number, token: string, env = process.env): void {
  const path = tokenFilePath(port, env);
  if (readTokenFile(port, env) === token) rmSync(path, { force: true });
}

/** The token the fleet on `port` generated, or null when there is no readable file. */
export function readTokenFile(port: number, env = process.env): string | null {
  try {
    return readFileSync(tokenFilePath(port, env), "utf8").trim() || null;
  } catch {
    return null;
  }
}
