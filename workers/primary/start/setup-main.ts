/**
 * The setup process: the primary's start, in a short-lived process of its own, so the primary
 * never loads the app's code (its hooks module, zod, a database client) and stays small for the
 * fleet's whole life. It imports the hooks module, checks its exports and the app settings, runs
 * `setup`, sends `SetupOutcome` to the primary and exits; a failure is logged here, as the
 * primary would have, and ends it with the primary's exit code (2 configuration, 3 setup failed).
 * Spawned by setup-process.ts as the same executable (`scripts/bin.ts` in the built binary).
 */
import { bridgeConsole, logUncaught } from "../../console.ts";
import { ExitCode } from "../../exit-codes.ts";
import type { ExtraProcess, FleetHooks, Json } from "../../fleet.ts";
import { configureLogs, createLog } from "../../log.ts";
import { checkHooks, shown } from "../../modules.ts";
import { type AppConfig, appSettingsSchema, readAppSettings } from "../config/app-settings.ts";
import { checkExtras, runSetupHook, SetupInvalid } from "./hooks.ts";
import { SETUP_ENV, type SetupInit, type SetupOutcome } from "./setup-process.ts";

// Named "setup", not "primary": the pid on each line is this process's, and a second "primary
// pid" in the log (beside the banner's) reads like a second fleet on the machine.
const log = createLog("setup");
bridgeConsole("setup"); // the user's hooks and setup log like the rest
logUncaught("setup");

/** The hooks module's checked exports, settings and setup result, or the exit code of a failure. */
async function start(init: SetupInit): Promise<SetupOutcome | ExitCode> {
  // The hooks module is the user's code: a throw while importing it is a failed start (like a
  // throwing setup or app), while exports of the wrong shape are configuration errors.
  let mod: Record<string, unknown>;
  try {
    mod = await import(init.hooksModule);
  } catch (error) {
    log.error(
      `HOOKS_MODULE ${shown(init.hooksModule)} threw while loading, no worker started: ${(error as Error).stack ?? error}`,
    );
    return ExitCode.bootFailure;
  }
  let hooks: FleetHooks;
  let extras: Required<ExtraProcess>[];
  let config: AppConfig = {};
  try {
    hooks = checkHooks(mod, init.hooksModule);
    extras = checkExtras(hooks.extras, init.hooksModule);
    // The app's settings, checked before any process starts, like the fleet's.
    const schema = appSettingsSchema(mod, init.hooksModule);
    const read = schema ? readAppSettings(schema, process.env) : { ok: true as const, config: {} };
    if (!read.ok) throw new Error(read.message);
    config = read.config;
  } catch (error) {
    log.error(`invalid configuration: ${(error as Error).message}`);
    return ExitCode.config;
  }
  let setup: Json;
  try {
    setup = await runSetupHook(hooks, { config, workers: init.workers, log });
  } catch (error) {
    if (error instanceof SetupInvalid) {
      log.error(`invalid configuration: ${error.message}`);
      return ExitCode.config;
    }
    // An error with a code is an expected failure (a migration, a database that is down): its
    // message says it all. Anything else is a bug in setup: print its stack.
    const text = (error as { code?: unknown }).code
      ? (error as Error).message
      : ((error as Error).stack ?? String(error));
    log.error(`setup hook failed, no worker started: ${text}`);
    return ExitCode.bootFailure;
  }
  return { config, setup, extras };
}

// Orphaned (the primary was killed mid-setup): nothing is waiting for the result.
process.on("disconnect", () => process.exit(ExitCode.bootFailure));
// A terminal's Ctrl-C reaches the whole foreground group: the primary decides what it means (the
// first lets setup finish and starts no worker; a second one forces, and this process then goes
// with the primary's exit, through the disconnect above).
process.on("SIGINT", () => {});
const init = JSON.parse(process.env[SETUP_ENV] ?? "null") as SetupInit | null;
if (!init || typeof process.send !== "function") {
  log.error(`${SETUP_ENV} is not set: the setup process is started by the primary`);
  process.exit(ExitCode.config);
}
configureLogs(init.logFormat, init.logLevel);
const outcome = await start(init);
if (typeof outcome === "number") process.exit(outcome);
process.send(outcome);
// Exit now: setup may leave handles open (a pool, a timer) that would otherwise keep it alive.
process.exit(ExitCode.ok);
