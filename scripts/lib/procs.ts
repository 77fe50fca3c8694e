/**
 * The processes the bench starts: each server runs in its own process group (so one signal
 * reaches the primary and all its workers), every group is tracked until it is gone, and
 * `/proc` answers "is it alive", "how big is it" and "did anything of this run survive".
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { Lines } from "./lines.ts";

/** Env marker every process of one bench run inherits; lets anyone find leftovers by it. */
export const RUN_ID_ENV = "BENCH_RUN_ID";

type Piped = Subprocess<"ignore", "pipe", "pipe">;

/** `/proc/<pid>/stat` fields after the command name: state and process group. */
function statOf(pid: number): { state: string; pgrp: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "?", pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

/** True while `pid` exists and is not a zombie (a zombie has exited; it only awaits reaping). */
export function isAlive(pid: number): boolean {
  const stat = statOf(pid);
  return stat !== null && stat.state !== "Z" && stat.state !== "X";
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return allPids().filter((pid) => {
    const stat = statOf(pid);
    return stat !== null && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X";
  });
}

/** Live processes (other than this one) whose environment holds `entry` (`NAME=value`). */
export function processesWithEnv(entry: string): number[] {
  return allPids().filter((pid) => {
    if (pid === process.pid || !isAlive(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(entry);
    } catch {
      return false;
    }
  });
}

/** Resident set size of `pid` in MB (VmRSS), or null when it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** A free 127.0.0.1 port, as the kernel hands one out. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/** Polls `done` every millisecond until it holds or `timeoutMs` passes; true when it held. */
export async function pollUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(1);
  }
  return true;
}

/** One server the bench started, as a process group led by `proc`. */
export class Group {
  readonly stdout: Lines;
  readonly stderr: Lines;

  constructor(readonly proc: Piped) {
    this.stdout = new Lines(proc.stdout);
    this.stderr = new Lines(proc.stderr);
  }

  get pgid(): number {
    return this.proc.pid;
  }

  /** Signals every process in the group; a group already gone is not an error. */
  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pgid, signal);
    } catch {
      // ESRCH: nothing left to signal
    }
  }

  /** True once no live process is left in the group. */
  get gone(): boolean {
    return groupMembers(this.pgid).length === 0;
  }

  /** What the child printed last, for error messages. */
  describe(): string {
    return [this.stdout.tail(), this.stderr.tail()].filter(Boolean).join("\n");
  }
}

/** Every group (and helper process) the bench started, so each one is stopped and awaited. */
export class Processes {
  readonly #groups = new Set<Group>();
  readonly #helpers = new Set<Subprocess>();

  constructor(readonly runId: string) {}

  /** Starts `cmd` as the leader of a new process group, stdout and stderr piped. */
  spawnGroup(cmd: string[], env: Record<string, string>, cwd: string): Group {
    const proc = Bun.spawn(cmd, {
      cwd,
      env: { ...process.env, ...env, [RUN_ID_ENV]: this.runId },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const group = new Group(proc);
    this.#groups.add(group);
    return group;
  }

  /** Tracks a helper (wrk) so cleanup can kill it; untracks it when it exits. */
  track(proc: Subprocess): void {
    this.#helpers.add(proc);
    void proc.exited.then(() => this.#helpers.delete(proc));
  }

  /** SIGTERM, wait up to `graceMs` for the group to empty, then SIGKILL and wait again. */
  async stop(group: Group, graceMs = 3000): Promise<void> {
    group.signal("SIGTERM");
    if (!(await pollUntil(() => group.gone, graceMs))) group.signal("SIGKILL");
    if (!(await pollUntil(() => group.gone, 2000))) {
      throw new Error(`process group ${group.pgid} survived SIGKILL`);
    }
    await group.proc.exited;
    this.#groups.delete(group);
  }

  /** Stops everything still tracked, then kills any process of this run that got away. */
  async stopAll(): Promise<number[]> {
    for (const proc of this.#helpers) proc.kill("SIGKILL");
    await Promise.allSettled([...this.#groups].map((group) => this.stop(group, 1000)));
    const strays = processesWithEnv(`${RUN_ID_ENV}=${this.runId}`);
    for (const pid of strays) process.kill(pid, "SIGKILL");
    return strays;
  }

  /** Last resort from a synchronous exit path: SIGKILL every tracked group and helper. */
  killAllSync(): void {
    for (const proc of this.#helpers) proc.kill("SIGKILL");
    for (const group of this.#groups) group.signal("SIGKILL");
  }
}
