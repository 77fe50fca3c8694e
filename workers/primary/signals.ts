import type { StopReason } from "../fleet.ts";

/** Signals the primary handles. */
export const PRIMARY_SIGNALS = [
  "SIGTERM",
  "SIGINT",
  "SIGQUIT",
  "SIGHUP",
  "SIGTTIN",
  "SIGTTOU",
] as const;
export type PrimarySignal = (typeof PRIMARY_SIGNALS)[number];

/**
 * One terminal Ctrl-C often reaches the primary twice within a fraction of a millisecond
 * (from the terminal to the group, and forwarded by `bun run`): SIGINTs closer than this
 * count as one, so a single key press never forces a stop.
 */
export const SIGINT_COALESCE_MS = 100;

/** What a signal means right now. */
export type SignalAction =
  | { action: "stop"; reason: StopReason }
  | { action: "force" }
  | { action: "reload" }
  | { action: "scale"; delta: 1 | -1 }
  | { action: "ignore"; why: string };

/** The one place that decides what a signal means; handlers only feed it. */
export function interpretSignal(
  signal: PrimarySignal,
  state: { stopping: boolean; msSinceLastSigint: number },
): SignalAction {
  switch (signal) {
    case "SIGINT":
      if (state.msSinceLastSigint < SIGINT_COALESCE_MS) {
        return { action: "ignore", why: "same Ctrl-C delivered twice" };
      }
      return state.stopping ? { action: "force" } : { action: "stop", reason: "SIGINT" };
    case "SIGTERM":
    case "SIGQUIT":
      return { action: "stop", reason: signal };
    case "SIGHUP":
      return state.stopping ? { action: "ignore", why: "stopping" } : { action: "reload" };
    case "SIGTTIN":
    case "SIGTTOU":
      if (state.stopping) return { action: "ignore", why: "stopping" };
      return { action: "scale", delta: signal === "SIGTTIN" ? 1 : -1 };
  }
}
