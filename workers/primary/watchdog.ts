import type { Log } from "../log.ts";
import type { ChildProcess } from "./worker-process.ts";

/**
 * Kills workers whose event loop went silent: no heartbeat for `timeoutMs` → SIGTERM, then
 * SIGKILL after a grace (a blocked loop cannot run its SIGTERM handler). One timer for the
 * whole fleet; it never blocks on a worker.
 */
export class Watchdog {
  readonly #timer: Timer;

  constructor(
    private readonly workers: () => ChildProcess[],
    private readonly timeoutMs: number,
    periodMs: number,
    private readonly log: Log,
  ) {
    this.#timer = setInterval(() => this.#check(), periodMs);
  }

  /** SIGTERM → SIGKILL grace. */
  get graceMs(): number {
    return Math.max(100, Math.min(1000, Math.floor(this.timeoutMs / 4)));
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #check(): void {
    const now = performance.now();
    for (const worker of this.workers()) {
      if (worker.hung || !worker.lifecycle.is("ready", "draining")) continue;
      const silentMs = now - worker.lastSeen;
      if (silentMs < this.timeoutMs) continue;
      worker.hung = true;
      this.log.error(
        `${worker.name} hung: no heartbeat for ${Math.round(silentMs)} ms; SIGTERM, then SIGKILL in ${this.graceMs} ms`,
      );
      worker.kill("SIGTERM");
      setTimeout(() => worker.kill("SIGKILL"), this.graceMs);
    }
  }
}
