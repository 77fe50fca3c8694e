import { join } from "node:path";
import type { StopReason } from "../fleet.ts";
import { CHILD_TRANSITIONS, Lifecycle } from "../lifecycle.ts";
import type { Log } from "../log.ts";
import { Pending } from "../pending.ts";
import {
  type ChildMessage,
  dispatch,
  type Handlers,
  type MeshPeer,
  message,
  type Publication,
  parseChildMessage,
  type Routes,
  route,
} from "../protocol.ts";
import type { ChildSnapshot } from "../snapshot.ts";
import { CHILD_ENV, type ChildInit } from "../worker-init.ts";

const WORKER_ENTRY = join(import.meta.dir, "..", "child", "main.ts");

/** What the supervisor needs of a child's OS process (Bun's Subprocess has it). */
export interface ChildHandle {
  readonly pid: number;
  readonly exited: Promise<unknown>;
  send(message: unknown): void;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts a child's process with `init` in its env: `receive` gets each IPC message, `onExit` how
 * it ended. The seam where unit tests put processes of their own (test/unit/primary.test.ts).
 */
export type SpawnChild = (
  init: ChildInit,
  receive: (raw: unknown) => void,
  onExit: (code: number | null, signal: string | null) => void,
) => ChildHandle;

/** A real child: `bun workers/child/main.ts`, IPC on. */
export const spawnChild: SpawnChild = (init, receive, onExit) =>
  Bun.spawn([process.execPath, WORKER_ENTRY], {
    env: { ...process.env, [CHILD_ENV]: JSON.stringify(init) },
    stdio: ["ignore", "inherit", "inherit"],
    // Every message is plain JSON; JSON relays 2.4x the messages/s of the default ("advanced").
    serialization: "json",
    ipc: (raw) => receive(raw),
    onExit: (_proc, code, signal) => onExit(code, signal === null ? null : String(signal)),
  });

/** How a child process ended. */
export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** It had reported ready before it exited. */
  wasReady: boolean;
  /** The exit was asked for (a drain from us, or the worker drained on its own signal). */
  intended: boolean;
  /** Why it began to drain on its own (its own signal), when it did; null when we asked it to. */
  ownDrainReason: string | null;
  /** Why it failed to boot, when it told us or never became ready. */
  bootError: string | null;
}

/** The messages a process object handles itself: its lifecycle, heartbeat and snapshots. */
type OwnMessage = Extract<
  ChildMessage,
  { kind: "ready" | "boot-failed" | "draining" | "heartbeat" | "snapshot" }
>;

/**
 * What the supervisor does with every other message a child sends (stop, reload, scale,
 * recycle, pub/sub, collect): one typed table, built once by the primary; a new message kind
 * without a route is a compile error.
 */
export type ChildRoutes = Routes<Exclude<ChildMessage, OwnMessage>, ChildProcess>;

/** What the supervisor hears from one child: its routed messages, and when it is ready or gone. */
export interface ChildEvents {
  readonly routes: ChildRoutes;
  ready(worker: ChildProcess): void;
  exited(worker: ChildProcess, exit: ChildExit): void;
}

/** One child (HTTP worker or extra), seen from the primary: spawn, messages, drain, kill, exit. */
export class ChildProcess {
  readonly lifecycle = new Lifecycle("booting", CHILD_TRANSITIONS);
  readonly proc: ChildHandle;
  /** Resolves once: "ready" when it reports ready, "exited" if it dies first. */
  readonly settled: Promise<"ready" | "exited">;
  /** performance.now() of its last sign of life (spawn, ready, heartbeat). */
  lastSeen = performance.now();
  /** Set by the watchdog before it kills a silent worker, so the exit names the cause. */
  hung = false;
  /** Epoch ms of the spawn. */
  readonly startedAt = Date.now();
  readonly #snapshots = new Pending<ChildSnapshot>();
  #intended = false;
  #ownDrainReason: string | null = null;
  #wasReady = false;
  #bootError: string | null = null;
  #bootTimer: Timer;
  #settle: (outcome: "ready" | "exited") => void = () => {};

  constructor(
    readonly init: ChildInit,
    bootTimeoutMs: number,
    private readonly events: ChildEvents,
    private readonly log: Log,
    spawn: SpawnChild = spawnChild,
  ) {
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.proc = spawn(
      init,
      (raw) => this.#receive(raw),
      (code, signal) => this.#exited(code, signal),
    );
    this.#bootTimer = setTimeout(() => {
      this.#bootError = `not ready within ${bootTimeoutMs} ms`;
      this.kill("SIGKILL");
    }, bootTimeoutMs);
  }

  get index(): number {
    return this.init.index;
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** `worker 0 (pid 123)` or `extra ticker#0 (pid 124)`, for log lines. */
  get name(): string {
    const { extra, index } = this.init;
    return `${extra ? `extra ${extra.name}#${index}` : `worker ${index}`} (pid ${this.pid})`;
  }

  get bootError(): string | null {
    return this.#bootError;
  }

  get alive(): boolean {
    return !this.lifecycle.is("exited");
  }

  /**
   * Asks the worker to drain by `deadline` (epoch ms); `windowMs` > 0 when it retires while
   * siblings serve. Idempotent.
   */
  drain(reason: StopReason, deadline: number, windowMs = 0): void {
    if (!this.alive) return;
    this.#intended = true;
    if (this.lifecycle.can("draining")) this.lifecycle.to("draining");
    try {
      this.proc.send(message({ kind: "drain", reason, deadline, windowMs }));
    } catch (error) {
      // The channel is gone: the worker is already exiting, and its exit event will follow.
      this.log.warn(`${this.name}: could not send drain (${(error as Error).message})`);
    }
  }

  /** Hands it a publication for its subscribers; a closed channel means it is exiting. */
  relay(publication: Publication): void {
    try {
      this.proc.send(message({ kind: "publish", ...publication }));
    } catch {
      // exiting: its exit event removes it from the hub
    }
  }

  /** Answers `pubsub-listening`: the siblings to join, Redis or not, the lag budget. */
  meshPeers(answer: { peers: MeshPeer[]; remote: boolean; maxLagBytes: number }): void {
    if (this.alive) this.#send(message({ kind: "pubsub-peers", ...answer }));
  }

  /** Asks for this process's numbers; null when it does not answer within `timeoutMs`. */
  requestSnapshot(timeoutMs: number): Promise<ChildSnapshot | null> {
    if (!this.alive) return Promise.resolve(null);
    const { id, answer } = this.#snapshots.open(timeoutMs);
    this.#send(message({ kind: "snapshot-request", id }), () => this.#snapshots.cancelAll());
    return answer;
  }

  /** Answers this worker's `collect-request` `id`. */
  reply(id: number, ok: boolean, body: string): void {
    if (this.alive) this.#send(message({ kind: "collect-reply", id, ok, body }));
  }

  /** Answers this worker's `take-tokens` `id`. */
  tokens(answer: { id: number; granted: number[]; remaining: number[]; resets: number[] }): void {
    if (this.alive) this.#send(message({ kind: "tokens", ...answer }));
  }

  #send(body: ReturnType<typeof message>, onError?: () => void): void {
    try {
      this.proc.send(body);
    } catch (error) {
      this.log.warn(`${this.name}: could not send ${body.kind} (${(error as Error).message})`);
      onError?.();
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }

  readonly #own: Handlers<OwnMessage> = {
    ready: () => {
      if (!this.lifecycle.can("ready")) return; // a drain overtook the boot
      clearTimeout(this.#bootTimer);
      this.lifecycle.to("ready");
      this.#wasReady = true;
      this.lastSeen = performance.now();
      this.#settle("ready");
      this.events.ready(this);
    },
    "boot-failed": (m) => {
      this.#bootError = m.error;
    },
    draining: (m) => {
      this.#intended = true;
      this.#ownDrainReason ??= m.reason;
      if (this.lifecycle.can("draining")) this.lifecycle.to("draining");
      // Debug only: a terminal's Ctrl-C reaches every worker too, and the fleet's stop says it
      // all; a worker signalled alone is logged at its exit, with this reason (pool.ts).
      this.log.debug(`${this.name} is draining on its own (${m.reason})`);
    },
    heartbeat: () => {
      this.lastSeen = performance.now();
    },
    snapshot: (m) => void this.#snapshots.settle(m.id, m.snapshot),
  };

  #receive(raw: unknown): void {
    const parsed = parseChildMessage(raw);
    if (!parsed.ok) {
      this.log.warn(`${this.name}: ignored IPC message: ${parsed.error}`);
      return;
    }
    const m = parsed.value;
    if (this.#isOwn(m)) dispatch(this.#own, m);
    else route(this.events.routes, this, m);
  }

  #isOwn(m: ChildMessage): m is OwnMessage {
    return Object.hasOwn(this.#own, m.kind);
  }

  #exited(code: number | null, signal: string | null): void {
    clearTimeout(this.#bootTimer);
    this.lifecycle.to("exited");
    this.#settle("exited");
    this.#snapshots.cancelAll();
    const exit = {
      code,
      signal,
      wasReady: this.#wasReady,
      intended: this.#intended,
      ownDrainReason: this.#ownDrainReason,
      bootError: this.#bootError,
    };
    this.events.exited(this, exit);
  }
}

/** "exited with code 1", "killed by SIGKILL (out of memory?)", "hung: ...". */
export function describeExit(exit: Pick<ChildExit, "code" | "signal">, hung = false): string {
  if (hung) return `hung (no heartbeat) and was killed by ${exit.signal ?? "its own exit"}`;
  if (exit.signal) {
    const hint = exit.signal === "SIGKILL" ? " (out of memory, or killed by hand?)" : "";
    return `killed by ${exit.signal}${hint}`;
  }
  return `exited with code ${exit.code}`;
}
