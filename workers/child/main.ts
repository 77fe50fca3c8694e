/**
 * A child process: spawned by the primary (workers/primary/), never run by hand. It reads its
 * identity from env, then serves the app (an HTTP worker) or runs an extra process, and drains
 * when told or when orphaned.
 */
import { ChildExitCode } from "../exit-codes.ts";
import { createLog } from "../log.ts";
import { CHILD_ENV, parseChildInit } from "../worker-init.ts";
import { ExtraRuntime } from "./extra-runtime.ts";
import { WorkerRuntime } from "./worker-runtime.ts";

const init = parseChildInit(process.env[CHILD_ENV]);
if (!init.ok) {
  createLog("worker").error(init.error);
  process.exit(ChildExitCode.usage);
}
const { value } = init;
await (value.extra ? new ExtraRuntime(value, value.extra) : new WorkerRuntime(value)).boot();
