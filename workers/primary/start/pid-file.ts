import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { shown } from "../../modules.ts";

/**
 * The primary's pid file (PID_FILE), for `kill -HUP $(cat fleet.pid)` and init scripts: claimed
 * at start, removed at exit, and never taken from a fleet that is still running.
 */

/** The pid a pid file names, or null when it is missing or holds anything else. */
function readPid(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  return /^\s*\d+\s*$/.test(text) ? Number(text) : null;
}

/** Whether `pid` names a live process (of any user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"; // alive, someone else's
  }
}

/**
 * Writes `pid` to `path` (atomically: a reader sees the old file or the new one), unless the file
 * names another live process. Returns null when claimed, else what is wrong, in one line.
 */
export function claimPidFile(path: string, pid = process.pid): string | null {
  const holder = readPid(path);
  if (holder !== null && holder !== pid && isAlive(holder)) {
    return `PID_FILE ${shown(path)}: a fleet already runs as pid ${holder} (if that pid is not a fleet, the file is stale: remove it)`;
  }
  const temporary = `${path}.${pid}.tmp`;
  try {
    writeFileSync(temporary, `${pid}\n`);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    const code = (error as { code?: string }).code ?? (error as Error).message;
    return `PID_FILE ${shown(path)}: cannot write it (${code})`;
  }
  return null;
}

/** Removes the pid file if it still names `pid` (another fleet may have claimed it since). */
export function releasePidFile(path: string, pid = process.pid): void {
  if (readPid(path) === pid) rmSync(path, { force: true });
}
