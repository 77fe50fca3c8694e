import { join } from "node:path";
import type { ExtraProcess, Json } from "../../fleet.ts";
import type { LevelName, Log, LogFormat } from "../../log.ts";

/**
 * The primary's side of the setup process (setup-main.ts): it spawns it as the same executable as
 * workers, waits for its outcome and maps its exit to the primary's. The primary itself never
 * imports the hooks module: its settings schema (zod), its `setup` (a database client) and
 * whatever else it pulls in would stay in the primary's memory for the fleet's whole life.
 */

/** Env variable that marks the setup process and carries what it needs (JSON). */
export const SETUP_ENV = "BUN_FLEET_SETUP";

/** What the setup process learns at spawn. */
export interface SetupInit {
  hooksModule: string;
  /** WORKERS, as `setup` sees it (`fleet.workers`). */
  workers: number;
  logFormat: LogFormat;
  logLevel: LevelName;
}

/** What it sends back once all went well: the checked settings, setup's result and extras. */
export interface SetupOutcome {
  config: { [env: string]: Json };
  setup: Json;
  extras: Required<ExtraProcess>[];
}

const SETUP_ENTRY = join(import.meta.dir, "setup-main.ts");

/**
 * Runs the setup process to its end: its outcome, or the exit code the primary exits with (the
 * setup process has logged why, except when it died without a word, which is logged here).
 */
export async function runSetupProcess(
  init: SetupInit,
  log: Log,
  /** The primary: it learns of the process (a stop's deadline reaches it) and whether it stops. */
  primary?: {
    setupStarted(proc: { pid: number; kill(signal: NodeJS.Signals): void }): void;
    readonly stopping: boolean;
  },
): Promise<{ ok: true; outcome: SetupOutcome } | { ok: false; code: number; killed: boolean }> {
  let outcome: SetupOutcome | null = null;
  const proc = Bun.spawn([process.execPath, SETUP_ENTRY], {
    env: { ...process.env, [SETUP_ENV]: JSON.stringify(init) },
    stdio: ["ignore", "inherit", "inherit"],
    serialization: "json",
    ipc: (message) => {
      outcome = message as SetupOutcome;
    },
  });
  primary?.setupStarted(proc);
  const code = await proc.exited;
  if (code === 0 && outcome) return { ok: true, outcome: outcome as SetupOutcome };
  // 2 and 3 are the primary's own codes for a configuration error and a failed setup: the setup
  // process has said why. Anything else (a signal, a crash in Bun) is said here, unless the
  // primary killed it itself (a forced stop, or the stop's deadline), which it has said.
  if (code === 2 || code === 3) return { ok: false, code, killed: false };
  if (primary?.stopping) return { ok: false, code: 3, killed: true };
  log.error(
    `the setup process (pid ${proc.pid}) ${proc.signalCode ? `was killed by ${proc.signalCode}` : `exited with code ${code}`}${code === 0 ? " without a result" : ""}, no worker started`,
  );
  return { ok: false, code: 3, killed: true };
}
