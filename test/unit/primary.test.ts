import { afterEach, describe, expect, test } from "bun:test";
import { ExitCode } from "../../workers/exit-codes.ts";
import type { Log } from "../../workers/log.ts";
import { type FleetConfig, resolveConfig } from "../../workers/primary/config/config.ts";
import { Primary } from "../../workers/primary/primary.ts";
import type { ChildHandle, SpawnChild } from "../../workers/primary/worker-process.ts";
import { type ChildMessage, message, type PrimaryMessage } from "../../workers/protocol.ts";
import type { ChildInit } from "../../workers/worker-init.ts";
import { waitFor } from "../helpers/fleet.ts";

/**
 * The supervisor in-process, uvicorn-style: the real Primary, Pool and ChildProcess, with the
 * spawn seam handing them fake processes that this test drives (ready, exit) and reads (what the
 * primary sent, which signals it sent).
 */

/** One fake child process: what the primary sent it and how it was killed; the test ends it. */
interface FakeChild {
  init: ChildInit;
  pid: number;
  sent: PrimaryMessage[];
  killed: string[];
  exited: boolean;
  /** The child says something to the primary. */
  says(body: Parameters<typeof message<ChildMessage>>[0]): void;
  /** The process ends. */
  exit(code: number | null, signal?: string): void;
}

function fakeSpawner() {
  const children: FakeChild[] = [];
  let nextPid = 1000;
  const spawn: SpawnChild = (init, receive, onExit) => {
    const ended = Promise.withResolvers<number>();
    const child: FakeChild = {
      init,
      pid: nextPid++,
      sent: [],
      killed: [],
      exited: false,
      says: (body) => receive(message<ChildMessage>(body)),
      exit: (code, signal) => {
        if (child.exited) return;
        child.exited = true;
        onExit(code, signal ?? null);
        ended.resolve(code ?? 1);
      },
    };
    children.push(child);
    const handle: ChildHandle = {
      pid: child.pid,
      exited: ended.promise,
      send: (m) => child.sent.push(m as PrimaryMessage),
      kill: (signal) => {
        child.killed.push(signal ?? "SIGTERM");
        queueMicrotask(() => child.exit(null, signal ?? "SIGTERM"));
      },
    };
    return handle;
  };
  return { spawn, children };
}

/** A configuration resolved as `bun run start` would, from env, with fast timings. */
function config(env: Record<string, string>): FleetConfig {
  const result = resolveConfig({
    argv: [],
    env: { ADMIN_TOKEN: "a-token-of-16-chars", SHUTDOWN_TIMEOUT_MS: "2000", ...env },
    platform: "linux",
    cpus: 2,
    cwd: "/project",
    root: "/project",
    readFile: () => "",
    exists: () => true,
  });
  if (result.kind !== "ok") throw new Error(`config: ${JSON.stringify(result)}`);
  return result.config;
}

const lines: string[] = [];
const line = (m: string) => void lines.push(m);
const log: Log = { debug: line, info: line, warn: line, error: line };

let stopAll: (() => void) | null = null;
afterEach(() => {
  stopAll?.(); // a failed test leaves no timers behind
  stopAll = null;
  lines.length = 0;
});

/** A primary over fake children, running; `exitCode` settles when it has stopped. */
function start(env: Record<string, string>) {
  const { spawn, children } = fakeSpawner();
  let running = 0;
  const primary = new Primary(config(env), log, () => running++, spawn);
  const exitCode = primary.run(null);
  stopAll = () => {
    primary.force();
    for (const child of children) child.exit(null, "SIGKILL");
  };
  const live = () => children.filter((c) => !c.exited);
  return { primary, children, live, exitCode, isRunning: () => running > 0 };
}

const drains = (child: FakeChild) => child.sent.filter((m) => m.kind === "drain");

describe("the primary, in-process", () => {
  test("runs once every child is ready; a stop drains each by one deadline and exits 0", async () => {
    const fleet = start({ WORKERS: "2" });
    expect(fleet.children.map((c) => c.init.index)).toEqual([0, 1]);
    fleet.children[0]?.says({ kind: "ready" });
    expect(fleet.isRunning()).toBe(false); // one slot still booting
    fleet.children[1]?.says({ kind: "ready" });
    expect(fleet.isRunning()).toBe(true);

    fleet.primary.requestStop("SIGTERM");
    const [a, b] = fleet.children.map(drains);
    expect(a).toHaveLength(1);
    expect(a?.[0]).toMatchObject({ kind: "drain", reason: "SIGTERM" });
    expect(b?.[0]?.deadline).toBe(a?.[0]?.deadline);
    for (const child of fleet.children) child.exit(0);
    expect(await fleet.exitCode).toBe(ExitCode.ok);
    expect(fleet.primary.lifecycle.state).toBe("stopped");
  });

  test("a child cut at its deadline (exit 4) makes the fleet's exit 4", async () => {
    const fleet = start({ WORKERS: "1" });
    fleet.children[0]?.says({ kind: "ready" });
    fleet.children[0]?.says({ kind: "stop-requested", reason: "admin-stop" });
    expect(drains(fleet.children[0] as FakeChild)[0]?.reason).toBe("admin-stop");
    fleet.children[0]?.exit(4);
    expect(await fleet.exitCode).toBe(ExitCode.deadline);
  });

  test("a child dead before ready at start is a boot failure: the rest drain, exit 3, no respawn", async () => {
    const fleet = start({ WORKERS: "2" });
    fleet.children[0]?.says({ kind: "ready" });
    fleet.children[1]?.says({ kind: "boot-failed", error: "port in use" });
    fleet.children[1]?.exit(3);
    expect(drains(fleet.children[0] as FakeChild)[0]?.reason).toBe("boot-failure");
    fleet.children[0]?.exit(0);
    expect(await fleet.exitCode).toBe(ExitCode.bootFailure);
    expect(fleet.children).toHaveLength(2);
    expect(lines.some((l) => l.includes("failed to boot: port in use"))).toBe(true);
  });

  test("a crash after ready respawns the slot (same index) after the backoff", async () => {
    const fleet = start({ WORKERS: "2", RESPAWN_BACKOFF_MS: "20" });
    for (const child of fleet.children) child.says({ kind: "ready" });
    fleet.children[1]?.exit(1);
    expect(fleet.children).toHaveLength(2); // not before the backoff
    const replacement = await waitFor("a respawn", () => fleet.children[2]);
    expect(replacement.init.index).toBe(1);
    expect(fleet.primary.lifecycle.state).toBe("running");
    expect(lines.some((l) => l.includes("exited with code 1; respawning its slot in 20 ms"))).toBe(
      true,
    );
  });

  test("a child that drains on its own and exits 0 is respawned at once, not counted a crash", async () => {
    const fleet = start({ WORKERS: "1", RESPAWN_BACKOFF_MS: "60000" });
    fleet.children[0]?.says({ kind: "ready" });
    fleet.children[0]?.says({ kind: "draining", reason: "SIGTERM" });
    fleet.children[0]?.exit(0);
    expect(fleet.children).toHaveLength(2); // no backoff: a minute would have passed first
    expect(fleet.children[1]?.init.index).toBe(0);
  });

  test("CRASH_LOOP_LIMIT crashes of one slot within the window stop the fleet: exit 5", async () => {
    const fleet = start({ WORKERS: "2", RESPAWN_BACKOFF_MS: "0", CRASH_LOOP_LIMIT: "3" });
    for (const child of fleet.children) child.says({ kind: "ready" });
    for (let crash = 1; crash <= 3; crash++) {
      const current = fleet.live().find((c) => c.init.index === 0) as FakeChild;
      if (crash > 1) current.says({ kind: "ready" });
      current.exit(1);
      if (crash < 3) await waitFor(`respawn ${crash}`, () => fleet.children[1 + crash]);
    }
    expect(fleet.primary.lifecycle.state).toBe("stopping");
    const other = fleet.children[1] as FakeChild;
    expect(drains(other)[0]?.reason).toBe("crash-loop");
    other.exit(0);
    expect(await fleet.exitCode).toBe(ExitCode.crashLoop);
    expect(fleet.children).toHaveLength(4); // nothing respawned after the verdict
  });

  test("a rolling reload starts the next slot only once the old process has exited; one past its deadline + grace is SIGKILLed", async () => {
    const fleet = start({ WORKERS: "2", SHUTDOWN_TIMEOUT_MS: "100" });
    for (const child of fleet.children) child.says({ kind: "ready" });
    fleet.primary.reload("test");
    const first = await waitFor("slot 0's replacement", () => fleet.children[2]);
    expect(first.init.index).toBe(0);
    first.says({ kind: "ready" });
    const old0 = fleet.children[0] as FakeChild;
    await waitFor("slot 0's old process to be drained", () => drains(old0).length === 1);
    for (let tick = 0; tick < 20; tick++) await Bun.sleep(0);
    expect(fleet.children).toHaveLength(3); // slot 1 waits while the old slot 0 still runs
    old0.exit(0);
    const second = await waitFor("slot 1's replacement", () => fleet.children[3]);
    expect(second.init.index).toBe(1);
    second.says({ kind: "ready" });
    const old1 = fleet.children[1] as FakeChild;
    // It never exits on its own: SIGKILLed at SHUTDOWN_TIMEOUT_MS + KILL_GRACE_MS (1.1 s).
    await waitFor("the SIGKILL", () => old1.killed.includes("SIGKILL"), 5000);
    await waitFor("the reload to complete", () => lines.some((l) => l.includes("complete in")));
    expect(lines.some((l) => l.includes("did not exit by its deadline; killing it"))).toBe(true);
  });

  test("a second stop (force) kills what is left with SIGKILL and exits 130", async () => {
    const fleet = start({ WORKERS: "2" });
    for (const child of fleet.children) child.says({ kind: "ready" });
    fleet.primary.requestStop("SIGINT");
    fleet.children[0]?.exit(0);
    fleet.primary.force();
    expect(fleet.children[1]?.killed).toEqual(["SIGKILL"]);
    expect(await fleet.exitCode).toBe(ExitCode.forced);
  });
});
