import type { StopReason } from "../fleet.ts";
import type { Log } from "../log.ts";
import {
  type ChildMessage,
  dispatch,
  type Handlers,
  message,
  type PrimaryMessage,
  parsePrimaryMessage,
} from "../protocol.ts";
import type { ChildInit } from "../worker-init.ts";

/** Signals that make a worker drain by itself (Ctrl-C reaches the whole process group). */
const DRAIN_SIGNALS = ["SIGTERM", "SIGINT", "SIGQUIT"] as const;

/**
 * Signals meant for the primary (reload, scale) that a group-wide send or a terminal hangup
 * also delivers here; by default they would kill (SIGHUP) or suspend (SIGTTIN/SIGTTOU) us.
 */
const PRIMARY_ONLY_SIGNALS = ["SIGHUP", "SIGTTIN", "SIGTTOU"] as const;

/** A child's side of the IPC channel: send, receive, and the events that begin a drain. */
export class Channel {
  constructor(private readonly log: Log) {}

  /** Sends to the primary; a closed channel (primary gone) is not an error. */
  send(body: Parameters<typeof message<ChildMessage>>[0]): void {
    if (!process.connected) return;
    try {
      process.send?.(message<ChildMessage>(body));
    } catch (error) {
      this.log.warn(`could not send ${body.kind} to the primary: ${(error as Error).message}`);
    }
  }

  /**
   * Dispatches valid primary messages to `handlers` (others are logged and ignored), and calls
   * `drainSelf` when this process is signalled or loses its primary.
   */
  listen(handlers: Handlers<PrimaryMessage>, drainSelf: (reason: StopReason) => void): void {
    process.on("message", (raw) => {
      const parsed = parsePrimaryMessage(raw);
      if (parsed.ok) dispatch(handlers, parsed.value);
      else this.log.warn(`ignored IPC message: ${parsed.error}`);
    });
    process.on("disconnect", () => drainSelf("primary-gone"));
    for (const signal of DRAIN_SIGNALS) process.on(signal, () => drainSelf(signal));
    for (const signal of PRIMARY_ONLY_SIGNALS) process.on(signal, () => {});
  }

  /**
   * Beats every `heartbeatMs` from this event loop (a blocked loop goes silent), and asks to be
   * recycled once when RSS passes `maxMemoryMb`.
   */
  heartbeat({ heartbeatMs, maxMemoryMb }: Pick<ChildInit, "heartbeatMs" | "maxMemoryMb">): void {
    if (heartbeatMs <= 0) return;
    let asked = false;
    const timer = setInterval(() => {
      this.send({ kind: "heartbeat" });
      if (asked || maxMemoryMb <= 0) return;
      const rssMb = process.memoryUsage.rss() / 1024 / 1024;
      if (rssMb > maxMemoryMb) {
        asked = true;
        this.log.info(
          `RSS ${Math.round(rssMb)} MB > MAX_MEMORY_MB ${maxMemoryMb}: asking to be recycled`,
        );
        this.send({ kind: "recycle", reason: "max-memory" });
      }
    }, heartbeatMs);
    timer.unref();
  }
}
