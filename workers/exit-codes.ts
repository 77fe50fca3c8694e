/** The primary's exit codes: a public contract (README, deploy tooling); never renumber. */
export const ExitCode = {
  /** Clean stop: every worker drained before the deadline. */
  ok: 0,
  /** Unexpected internal error. */
  internal: 1,
  /** Invalid configuration or usage. */
  config: 2,
  /** A worker failed to boot (app threw at start, port in use, never ready), or hooks/setup threw. */
  bootFailure: 3,
  /** The shutdown deadline passed; stragglers were killed. */
  deadline: 4,
  /** One slot crashed CRASH_LOOP_LIMIT times within CRASH_LOOP_WINDOW_MS. */
  crashLoop: 5,
  /** Forced stop by a second SIGINT. */
  forced: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A child's own exit codes (HTTP worker or extra), read by the primary. */
export const ChildExitCode = {
  ok: 0,
  /** Started without a valid BUN_FLEET_WORKER env (not by the primary). */
  usage: 2,
  bootFailure: 3,
  /** Its drain hit the deadline and in-flight requests were cut. */
  forced: 4,
} as const;
