/**
 * How much CPU other processes took while wrk ran: the machine's busy time (`/proc/stat` user,
 * nice, system and steal) minus what the servers under test, wrk and the bench itself used. On a
 * shared box a test suite or build running alongside skews req/s; this makes it visible per
 * sample. Interrupt and softirq time is left out: on loopback it is mostly our own traffic, and
 * /proc charges it to no process.
 */
import { readFileSync } from "node:fs";
import { groupMembers, statFields } from "../../lib/procs.ts";

/** Clock ticks per second for /proc times (USER_HZ; 100 on every mainstream Linux). */
const HZ = 100;

function machineBusyTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return [user, nice, system, steal].reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

function processTicks(pid: number | "self"): number {
  const fields = statFields(pid);
  // gone: its ticks went with it (the window then overstates "other")
  return fields ? Number(fields[11]) + Number(fields[12]) : 0; // utime + stime
}

/** A reading taken just before a load window. */
export interface CpuMark {
  at: number;
  machine: number;
  ours: number;
}

function ours(pgid: number): number {
  return groupMembers(pgid).reduce((sum, pid) => sum + processTicks(pid), processTicks("self"));
}

/** Reads the counters at the start of a window for the server group `pgid`. */
export function markCpu(pgid: number): CpuMark {
  return { at: performance.now(), machine: machineBusyTicks(), ours: ours(pgid) };
}

/**
 * Percent of the whole machine (all cores) that other processes used since `mark`;
 * `helperCpuUs` is what wrk itself used (from its resource usage), in microseconds.
 */
export function otherCpuPercent(mark: CpuMark, pgid: number, helperCpuUs: number): number {
  const seconds = (performance.now() - mark.at) / 1000;
  const machine = machineBusyTicks() - mark.machine;
  const mine = ours(pgid) - mark.ours + (helperCpuUs / 1e6) * HZ;
  const capacity = seconds * HZ * navigator.hardwareConcurrency;
  return capacity > 0 ? Math.max(0, ((machine - mine) / capacity) * 100) : 0;
}

/**
 * Waits until the group `pgid` used no CPU for a whole `windowMs` (it finished the requests still
 * queued when wrk stopped), at most `timeoutMs`; true once idle. /proc counts 10 ms ticks.
 */
export async function waitIdle(pgid: number, windowMs = 100, timeoutMs = 3000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  const groupTicks = () => groupMembers(pgid).reduce((sum, pid) => sum + processTicks(pid), 0);
  let before = groupTicks();
  while (performance.now() < deadline) {
    await Bun.sleep(windowMs);
    const after = groupTicks();
    if (after === before) return true;
    before = after;
  }
  return false;
}
