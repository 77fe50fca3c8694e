import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { isAlive } from "./pid-file.ts";

/**
 * The generated admin token, for the CLI on the same machine (as PM2 and supervisord keep a
 * socket or secret beside their pid file): `bun-fleet/port-<PORT>.token`, mode 0600, in a 0700
 * directory of this user under $XDG_RUNTIME_DIR (else the OS temp dir). Written only when
 * ADMIN_TOKEN was not set, removed at exit. The first line is the token; `pid=` and `url=` lines
 * name the primary and where it serves, so the CLI with no PORT finds the one fleet that runs
 * (and tells a file left by a killed primary from a live one).
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

/** What a token file says of its fleet besides the token. */
export interface TokenFleet {
  /** The primary's pid. */
  pid: number;
  /** Where it serves, as the banner prints it. */
  url: string;
}

/** Writes `token` for the fleet on `port`; returns the path, or throws saying why not. */
export function writeTokenFile(
  port: number,
  token: string,
  fleet: TokenFleet,
  env = process.env,
): string {
  const dir = tokenDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkDir(dir);
  const path = tokenFilePath(port, env);
  rmSync(path, { force: true }); // a stale file of a fleet that was killed
  const fd = openSync(path, "wx", 0o600); // never through a planted file or link
  try {
    writeSync(fd, `${token}\npid=${fleet.pid}\nurl=${fleet.url}\n`);
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
    return readFileSync(tokenFilePath(port, env), "utf8").split("\n")[0]?.trim() || null;
  } catch {
    return null;
  }
}

/** A fleet of this user that runs on this machine, as its token file names it. */
export interface RunningFleet extends TokenFleet {
  port: number;
  token: string;
  /** The token file. */
  path: string;
}

/**
 * The fleets of this user whose token files name a live primary, by port. A file whose primary
 * is gone (killed before it could remove it) is skipped; one without a pid line is kept.
 */
export function runningFleets(env = process.env): RunningFleet[] {
  let names: string[];
  try {
    names = readdirSync(tokenDir(env));
  } catch {
    return [];
  }
  const fleets: RunningFleet[] = [];
  for (const name of names) {
    const port = Number(/^port-(\d+)\.token$/.exec(name)?.[1]);
    if (!port) continue;
    const path = join(tokenDir(env), name);
    let lines: string[];
    try {
      lines = readFileSync(path, "utf8").split("\n");
    } catch {
      continue;
    }
    const token = lines[0]?.trim();
    const field = (key: string) =>
      lines
        .find((line) => line.startsWith(`${key}=`))
        ?.slice(key.length + 1)
        .trim();
    const pid = Number(field("pid") ?? 0);
    if (!token || (pid > 0 && !isAlive(pid))) continue;
    fleets.push({ port, token, pid, url: field("url") || `http://127.0.0.1:${port}`, path });
  }
  return fleets.sort((a, b) => a.port - b.port);
}
