/**
 * Runs a command as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`), the way
 * a container runtime runs an image's ENTRYPOINT + CMD, and looks at it from outside through
 * `/proc`. Killing the namespace's PID 1 makes the kernel kill everything left in it, so cleanup
 * cannot miss a process, not even an orphan.
 */
import { onTestFinished } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { collect, ROOT, waitFor } from "./fleet.ts";

const TETHER = join(ROOT, "test", "helpers", "tether.ts");
/** The tether's first line; the command's own output may come before it. */
const TETHER_LINE = /\[tether\] pid (\d+)\n/;

/** A process seen from outside the namespace. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

/** A command running as PID 1 of its own PID namespace. */
export interface Namespace {
  /** PID 1 of the namespace, as this (outer) namespace numbers it. */
  init: number;
  /** The namespace's processes: PID 1 and every descendant, zombies included. */
  processes(): ProcessInfo[];
  stdout(): string;
  stderr(): string;
  /** Resolves with PID 1's exit code (unshare --fork passes it on). */
  exited: Promise<number>;
}

function processInfo(pid: number): ProcessInfo | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? "?", comm };
  } catch {
    return null;
  }
}

/** `root` and its descendants, from one scan of `/proc`. */
function subtree(root: number): ProcessInfo[] {
  const all = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => processInfo(Number(name)))
    .filter((info): info is ProcessInfo => info !== null);
  const inTree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const info of all) {
      if (!inTree.has(info.pid) && inTree.has(info.ppid)) {
        inTree.add(info.pid);
        grew = true;
      }
    }
  }
  return all.filter((info) => inTree.has(info.pid));
}

/** Where and as whom to run the command. */
export interface NamespaceOptions {
  env: Record<string, string>;
  /** Working directory (default: the project). */
  cwd?: string;
  /** Run as this uid:gid (needs root; without it the command runs as this process's user). */
  user?: { uid: number; gid: number };
}

/** Starts `argv` as PID 1 of a new PID namespace; everything in it is killed when the test ends. */
export async function startInPidNamespace(
  argv: string[],
  { env, cwd = ROOT, user }: NamespaceOptions,
): Promise<Namespace> {
  const root = process.getuid?.() === 0;
  // Without root, a user namespace is what allows the PID namespace and the /proc mount.
  const unshare = ["unshare", "--pid", "--fork", "--mount-proc"];
  if (!root) unshare.push("--map-root-user");
  // setpriv execs the command, so the command itself is still PID 1.
  const setpriv =
    root && user ? ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups"] : [];
  const proc = Bun.spawn([process.execPath, TETHER, ...unshare, ...setpriv, ...argv], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  const stderr = collect(proc.stderr);
  const ns: Namespace = {
    init: 0,
    processes: () => (ns.init ? subtree(ns.init) : []),
    stdout: collect(proc.stdout),
    stderr: () => stderr().replace(TETHER_LINE, ""),
    exited: proc.exited,
  };
  onTestFinished(async () => {
    for (const pid of [ns.init, -proc.pid]) {
      try {
        if (pid) process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await proc.exited;
  });
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const line = await waitFor(
    () => `the tether to report unshare's pid\n${stderr()}`,
    () => TETHER_LINE.exec(stderr()),
  );
  const unsharePid = Number(line[1]);
  ns.init = await waitFor("unshare to fork the namespace's PID 1", () => {
    if (exited) return -1;
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8");
    return Number(children.trim().split(" ")[0]) || 0;
  });
  if (ns.init === -1) {
    ns.init = 0;
    throw new Error(`the namespace ended before it could be seen:\n${ns.stderr()}`);
  }
  return ns;
}
