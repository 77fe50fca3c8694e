import { join } from "node:path";
import type { Subprocess } from "bun";
import type { StopReason } from "../fleet.ts";
import { Lifecycle, WORKER_TRANSITIONS } from "../lifecycle.ts";
import type { Log } from "../log.ts";
import { Pending } from "../pending.ts";
import {
  type Collected,
  dispatch,
  type Handlers,
  type MeshPeer,
  message,
  type Publication,
  parseWorkerMessage,
  type WorkerMessage,
} from "../protocol.ts";
import type { ChildSnapshot } from "../snapshot.ts";
import { WORKER_ENV, type WorkerInit } from "../worker-init.ts";

const WORKER_ENTRY = join(import.meta.dir, "..", "child", "main.ts");

/** How a worker process ended. */
export interface WorkerExit {
  code: number | null;
  signal: string | null;
  /** It had reported ready before it exited. */
  wasReady: boolean;
  /** The exit was asked for (a drain from us, or the worker drained on its own signal). */
  intended: boolean;
  /** Why it failed to boot, when it told us or never became ready. */
  bootError: string | null;
}

/** What the supervisor hears from one worker. */
export interface WorkerEvents {
  ready(worker: WorkerProcess): void;
  stopRequested(worker: WorkerProcess, reason: StopReason): void;
  exited(worker: WorkerProcess, exit: WorkerExit): void;
  recycle(worker: WorkerProcess, reason: "max-requests" | "max-memory"): void;
  reloadRequested(worker: WorkerProcess): void;
  scaleRequested(worker: WorkerProcess, workers: number): void;
  /** Its app called `worker.publish` (delivered in the fleet already; for Redis). */
  published(worker: WorkerProcess, publication: Publication): void;
  /** Running total of pub/sub bytes it has received. */
  pubsubAck(worker: WorkerProcess, bytes: number): void;
  /** Its pub/sub mesh socket listens at `path`: tell it its siblings (`worker.meshPeers`). */
  meshListening(worker: WorkerProcess, path: string): void;
  /** Pub/sub counts since its last report. */
  pubsubCounts(counts: { published: number; relayed: number; dropped: number }): void;
  /** GET /admin/status or /metrics reached this worker: answer with `worker.reply(id, …)`. */
  collectRequested(worker: WorkerProcess, id: number, what: Collected): void;
}

/** One worker child, seen from the primary: spawn, messages, drain, kill, exit. */
export class WorkerProcess {
  readonly lifecycle = new Lifecycle("booting", WORKER_TRANSITIONS);
  readonly proc: Subprocess;
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
  #wasReady = false;
  #bootError: string | null = null;
  #bootTimer: Timer;
  #settle: (outcome: "ready" | "exited") => void = () => {};

  constructor(
    readonly init: WorkerInit,
    bootTimeoutMs: number,
    private readonly events: WorkerEvents,
    private readonly log: Log,
  ) {
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.proc = Bun.spawn([process.execPath, WORKER_ENTRY], {
      env: { ...process.env, [WORKER_ENV]: JSON.stringify(init) },
      stdio: ["ignore", "inherit", "inherit"],
      // Every message is plain JSON; JSON relays 2.4x the messages/s of the default ("advanced").
      serialization: "json",
      ipc: (raw) => this.#receive(raw),
      onExit: (_proc, code, signal) => this.#exited(code, signal === null ? null : String(signal)),
    });
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

  readonly #handlers: Handlers<WorkerMessage> = {
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
    "stop-requested": (m) => this.events.stopRequested(this, m.reason),
    draining: (m) => {
      this.#intended = true;
      if (this.lifecycle.can("draining")) this.lifecycle.to("draining");
      this.log.info(`${this.name} is draining on its own (${m.reason})`);
    },
    heartbeat: () => {
      this.lastSeen = performance.now();
    },
    recycle: (m) => this.events.recycle(this, m.reason),
    "reload-requested": () => this.events.reloadRequested(this),
    "scale-requested": (m) => this.events.scaleRequested(this, m.workers),
    publish: ({ topic, data, binary }) => this.events.published(this, { topic, data, binary }),
    "pubsub-ack": (m) => this.events.pubsubAck(this, m.bytes),
    "pubsub-listening": (m) => this.events.meshListening(this, m.path),
    "pubsub-counts": ({ published, relayed, dropped }) =>
      this.events.pubsubCounts({ published, relayed, dropped }),
    snapshot: (m) => void this.#snapshots.settle(m.id, m.snapshot),
    "collect-request": (m) => this.events.collectRequested(this, m.id, m.what),
  };

  #receive(raw: unknown): void {
    const parsed = parseWorkerMessage(raw);
    if (parsed.ok) dispatch(this.#handlers, parsed.message);
    else this.log.warn(`${this.name}: ignored IPC message: ${parsed.error}`);
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
      bootError: this.#bootError,
    };
    this.events.exited(this, exit);
  }
}

/** "exited with code 1", "killed by SIGKILL (out of memory?)", "hung: ...". */
export function describeExit(exit: Pick<WorkerExit, "code" | "signal">, hung = false): string {
  if (hung) return `hung (no heartbeat) and was killed by ${exit.signal ?? "its own exit"}`;
  if (exit.signal) {
    const hint = exit.signal === "SIGKILL" ? " (out of memory, or killed by hand?)" : "";
    return `killed by ${exit.signal}${hint}`;
  }
  return `exited with code ${exit.code}`;
}
