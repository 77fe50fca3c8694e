/**
 * A worker process: spawned by the primary (workers/primary.ts), never run by hand. It reads its
 * identity from env, serves the app on the shared port, and drains when told or when orphaned.
 */
import { WorkerExitCode } from "./exit-codes.ts";
import { parseWorkerInit, WORKER_ENV } from "./protocol.ts";
import { WorkerRuntime } from "./worker-runtime.ts";

const init = parseWorkerInit(process.env[WORKER_ENV]);
if (!init.ok) {
  process.stderr.write(`[worker] error: ${init.error}\n`);
  process.exit(WorkerExitCode.usage);
}
await new WorkerRuntime(init.message).boot();
