/**
 * The process kit shared by the tests, the bench and the load scripts: a free port, polling with a
 * deadline, process groups (each server in its own group, so one signal reaches a primary and all
 * its workers; every group tracked until it is gone), and what `/proc` says about a process
 * (alive, its group, its RSS, its environment).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { Lines } from "./lines.ts";

/** Env marker every process of one bench run inherits; lets anyone find leftovers by it. */
export const RUN_ID_ENV = "BENCH_RUN_ID";

type Piped = Subprocess<"ignore", "pipe", "pipe">;

/**
 * A free TCP port, as the kernel hands one out: bound on every address (so it is free on
 * 127.0.0.1 too), released at once, then handed to the server under test.
 */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/**
 * The one polling loop: runs `probe` at once, then every `everyMs`, until it returns a truthy
 * value or `timeoutMs` has passed (a probe that throws counts as "not yet"; its error is kept).
 */
async function poll<T>(
  probe: () => T | Promise<T>,
  timeoutMs: number,
  everyMs: number,
): Promise<{ value: NonNullable<T> } | { value: null; error: unknown }> {
  const deadline = performance.now() + timeoutMs;
  let error: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return { value };
    } catch (thrown) {
      error = thrown;
    }
    if (performance.now() > deadline) return { value: null, error };
    await Bun.sleep(everyMs);
  }
}

/**
 * Polls `done` every `everyMs` until it holds or `timeoutMs` passes; true when it held. For a
 * caller that decides what a timeout means (escalate to SIGKILL, report, exit).
 */
export async function pollUntil(
  done: () => boolean,
  timeoutMs: number,
  everyMs = 1,
): Promise<boolean> {
  return (await poll(done, timeoutMs, everyMs)).value !== null;
}

/**
 * Polls `probe` until it returns a truthy value and resolves with it; throws after `timeoutMs`
 * naming `what` (and the probe's last error).
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | Promise<T>,
  timeoutMs = 5000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  const polled = await poll(probe, timeoutMs, everyMs);
  if (polled.value !== null) return polled.value;
  const last = "error" in polled ? polled.error : undefined;
  const described = typeof what === "function" ? what() : what;
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${described}${last ? ` (${last})` : ""}`,
  );
}

/**
 * The fields of `/proc/<pid>/stat` after the command name (state is [0], ppid [1], pgrp [2],
 * session [3], utime [11], stime [12]), or null when the process is gone.
 */
export function statFields(pid: number | "self"): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** A spawned process with both output streams piped (whatever its stdin), as `outputOf` reads it. */
interface WithOutput {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Reads `proc`'s stdout and stderr to their end; resolves with them and its exit code. With
 * `timeoutMs`, a process still running then is SIGKILLed (bounded in time).
 */
export async function outputOf(
  proc: WithOutput,
  timeoutMs?: number,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout, stderr, code };
  } finally {
    clearTimeout(timer);
  }
}

/** State and process group of `pid`, or null when it is gone. */
function statOf(pid: number): { state: string; pgrp: number } | null {
  const fields = statFields(pid);
  return fields && { state: fields[0] ?? "?", pgrp: Number(fields[2]) };
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

/** Resident set size of `pid` in bytes (VmRSS), or null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resident set size of `pid` in MB, or null when it is gone. */
export function rssMb(pid: number): number | null {
  const bytes = rssBytes(pid);
  return bytes === null ? null : bytes / 2 ** 20;
}

/** Resident set size of every live process of group `pgid` together, in bytes. */
export function groupRssBytes(pgid: number): number {
  return groupMembers(pgid).reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0);
}

/** One server a bench run started, as a process group led by `proc`. */
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

/** Every group (and helper process) a bench run started, so each one is stopped and awaited. */
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

  /**
   * Stops everything still tracked (SIGKILL after `graceMs`), then kills any process of this run
   * that got away; resolves with the pids of those.
   */
  async stopAll(graceMs = 1000): Promise<number[]> {
    for (const proc of this.#helpers) proc.kill("SIGKILL");
    await Promise.allSettled([...this.#groups].map((group) => this.stop(group, graceMs)));
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
