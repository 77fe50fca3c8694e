import { bridgeConsole, logUncaught } from "../console.ts";
import type { StopReason } from "../fleet.ts";
import { CHILD_TRANSITIONS, type ChildState, Lifecycle } from "../lifecycle.ts";
import { configureLogs, createLog, type Fields, type Log } from "../log.ts";
import { Pending } from "../pending.ts";
import type { Collected, Handlers, PrimaryMessage, Publication } from "../protocol.ts";
import { type ChildSnapshot, idleSnapshot, REPLY_GRACE_MS } from "../snapshot.ts";
import type { ChildInit } from "../worker-init.ts";
import { Channel } from "./channel.ts";

/** The primary's answer to a collect request: its body, or why there is none. */
export type CollectAnswer = { ok: boolean; body: string } | null;

/**
 * What every child (HTTP worker or extra process) does the same way: its lifecycle, its IPC
 * channel and heartbeat, asking for a fleet stop, draining on its own signal, and exiting.
 */
export abstract class ChildRuntime {
  readonly lifecycle = new Lifecycle<ChildState>("booting", CHILD_TRANSITIONS);
  protected readonly log: Log;
  protected readonly channel: Channel;
  readonly #collects = new Pending<{ ok: boolean; body: string }>();

  constructor(
    protected readonly init: ChildInit,
    protected readonly name: string,
    protected readonly bound: Fields,
  ) {
    configureLogs(init.logFormat, init.logLevel);
    bridgeConsole(name, bound);
    logUncaught(name, bound);
    this.log = createLog(name, bound);
    this.channel = new Channel(this.log);
  }

  /** This process's numbers, for the primary's status and metrics. */
  snapshot(): ChildSnapshot {
    return idleSnapshot();
  }

  /**
   * Asks the primary to collect `what` from the whole fleet; null when it does not answer in
   * time (or is gone).
   */
  collect(what: Collected): Promise<CollectAnswer> {
    if (!process.connected) return Promise.resolve(null);
    const { id, answer } = this.#collects.open(this.init.collectTimeoutMs + REPLY_GRACE_MS);
    this.channel.send({ kind: "collect-request", id, what });
    return answer;
  }

  /** Asks the primary for the fleet's history after `since` (epoch ms); null: no answer in time. */
  history(since: number): Promise<CollectAnswer> {
    if (!process.connected) return Promise.resolve(null);
    const { id, answer } = this.#collects.open(this.init.collectTimeoutMs + REPLY_GRACE_MS);
    this.channel.send({ kind: "history-request", id, since });
    return answer;
  }

  /** Drains by `deadline` (epoch ms) and exits; idempotent. */
  abstract drain(reason: StopReason, deadline: number, windowMs?: number): Promise<void>;

  /** `bun run dev`: the fleet's completed-reload count (HTTP workers tell their pages). */
  protected liveReload(_generation: number): void {}

  /** Asks the primary to stop the fleet; without a primary, drains this child alone. */
  requestStop(reason: StopReason): void {
    if (process.connected) this.channel.send({ kind: "stop-requested", reason });
    else this.drainSelf(reason);
  }

  /** Wires the primary's messages, this process's signals, and the heartbeat. */
  protected connect(): void {
    const handlers: Handlers<PrimaryMessage> = {
      drain: (m) => void this.drain(m.reason, m.deadline, m.windowMs),
      publish: (m) => this.received(m),
      "pubsub-peers": (m) => this.meshPeers(m),
      "snapshot-request": (m) =>
        this.channel.send({ kind: "snapshot", id: m.id, snapshot: this.snapshot() }),
      "collect-reply": (m) => void this.#collects.settle(m.id, { ok: m.ok, body: m.body }),
      "live-reload": (m) => this.liveReload(m.generation),
      tokens: (m) => this.tokens(m),
    };
    this.channel.listen(handlers, (reason) => this.drainSelf(reason));
    this.channel.heartbeat(this.init);
  }

  /** The primary's answer to `take-tokens`; only HTTP workers take them. */
  protected tokens(_message: Extract<PrimaryMessage, { kind: "tokens" }>): void {}

  /** A pub/sub message relayed by the primary; only HTTP workers have subscribers. */
  protected received(_publication: Publication): void {}

  /** The siblings' pub/sub mesh sockets; only HTTP workers join the mesh. */
  protected meshPeers(_message: Extract<PrimaryMessage, { kind: "pubsub-peers" }>): void {}

  /** A drain this child starts itself: tell the primary the exit is intended. */
  protected drainSelf(reason: StopReason): void {
    if (!this.lifecycle.can("draining")) return;
    this.channel.send({ kind: "draining", reason });
    void this.drain(reason, Date.now() + this.init.shutdownTimeoutMs);
  }

  protected exit(code: number): void {
    if (this.lifecycle.can("exited")) this.lifecycle.to("exited");
    process.exit(code);
  }
}
