import type { StopReason } from "../../app/fleet.ts";
import { Lifecycle, WORKER_TRANSITIONS, type WorkerState } from "../lifecycle.ts";
import { createLog, type Log } from "../log.ts";
import type { Handlers, PrimaryMessage, WorkerInit } from "../protocol.ts";
import { Channel } from "./channel.ts";

/**
 * What every child (HTTP worker or extra process) does the same way: its lifecycle, its IPC
 * channel and heartbeat, asking for a fleet stop, draining on its own signal, and exiting.
 */
export abstract class ChildRuntime {
  readonly lifecycle = new Lifecycle<WorkerState>("booting", WORKER_TRANSITIONS);
  protected readonly log: Log;
  protected readonly channel: Channel;

  constructor(
    protected readonly init: WorkerInit,
    name: string,
  ) {
    this.log = createLog(name);
    this.channel = new Channel(this.log);
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
      livereload: (m) => this.liveReload(m.generation),
    };
    this.channel.listen(handlers, (reason) => this.drainSelf(reason));
    this.channel.heartbeat(this.init);
  }

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
