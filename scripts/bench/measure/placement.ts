/**
 * Where the bench's processes run and who else is there: CPU pinning with `taskset`, the session
 * (the kernel's autogroup gives each session an equal CPU share), the owners of a listening port
 * (a stale reusePort server on it would silently take part of the load), and other fleets alive.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { groupMembers, statFields } from "../../lib/procs.ts";

/** Printed when taskset is not on PATH (the paired measurement pins servers and wrk). */
export const TASKSET_MISSING =
  "bench: taskset not found on PATH; the paired measurement pins processes to cores with it (Debian/Ubuntu: apt-get install util-linux).";

/** `cmd` run on the CPUs `cpus` (a taskset list such as "0" or "0-1"); children inherit it. */
export function pinned(cmd: string[], cpus: string | undefined): string[] {
  return cpus === undefined ? cmd : ["taskset", "-c", cpus, ...cmd];
}

/** The CPUs a process may run on and its session, as the kernel reports them. */
export interface Placement {
  pid: number;
  /** `Cpus_allowed_list`, e.g. "0" or "0-1". */
  cpus: string;
  /** Session id: processes of one session share one autogroup (one CPU share). */
  sid: number;
}

/** Reads where `pid` runs; null when it is gone. */
export function placementOf(pid: number): Placement | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const fields = statFields(pid);
    if (!fields) return null;
    const cpus = status.match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1] ?? "?";
    return { pid, cpus, sid: Number(fields[3]) };
  } catch {
    return null;
  }
}

/** Socket inodes listening on TCP `port` (any address, IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A" && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** Processes holding a listening socket on `port`; `unknown` counts sockets of unseen owners. */
export function listenersOn(port: number): { pids: number[]; unknown: number } {
  const inodes = listeningInodes(port);
  const found = new Set<string>();
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || found.size === inodes.size) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target = "";
      try {
        target = readlinkSync(`/proc/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = target.match(/^socket:\[(\d+)\]$/)?.[1];
      if (inode && inodes.has(inode)) {
        found.add(inode);
        if (!pids.includes(Number(name))) pids.push(Number(name));
      }
    }
  }
  return { pids, unknown: inodes.size - found.size };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "?";
  }
}

/**
 * Throws unless every listener on `port` belongs to the process group `pgid`: numbers measured
 * while a stale server shares the port (reusePort) would be wrong without any error.
 */
export function assertSoleListener(port: number, pgid: number, label: string): void {
  const { pids, unknown } = listenersOn(port);
  const mine = new Set(groupMembers(pgid));
  const strangers = pids.filter((pid) => !mine.has(pid));
  if (strangers.length === 0 && unknown === 0 && pids.length > 0) return;
  const who = strangers.map((pid) => `${pid} (${cmdline(pid)})`).join(", ");
  throw new Error(
    pids.length === 0 && unknown === 0
      ? `${label}: nothing listens on port ${port}`
      : `${label}: port ${port} is also held by ${who || `${unknown} socket(s) of another user`}; a stale server shares it (reusePort): stop it and rerun`,
  );
}

/** Other fleets running on this machine (not started by this bench): they compete for CPU. */
export function otherFleets(ownPids: Set<number>): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || ownPids.has(Number(name))) continue;
    const cmd = cmdline(Number(name));
    if (/scripts\/start|child\/main/.test(cmd)) found.push(`${name} ${cmd}`);
  }
  return found;
}
