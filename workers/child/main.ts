/**
 * A child process: spawned by the primary (workers/primary/), never run by hand. It reads its
 * identity from env, then serves the app (an HTTP worker) or runs an extra process, and drains
 * when told or when orphaned.
 */
import { WorkerExitCode } from "../exit-codes.ts";
import { createLog } from "../log.ts";
import { parseWorkerInit, WORKER_ENV } from "../worker-init.ts";
import { ExtraRuntime } from "./extra-runtime.ts";
import { WorkerRuntime } from "./worker-runtime.ts";

const init = parseWorkerInit(process.env[WORKER_ENV]);
if (!init.ok) {
  createLog("worker").error(init.error);
  process.exit(WorkerExitCode.usage);
}
const { value } = init;
await (value.extra ? new ExtraRuntime(value, value.extra) : new WorkerRuntime(value)).boot();
