/**
 * The app PM2 runs in cluster mode (one per instance): serves the bench app, then appends its
 * pid to BENCH_READY_FILE so the bench knows when every instance listens.
 */
import { appendFileSync } from "node:fs";
import { serveBenchWorker } from "./serve-worker.ts";

serveBenchWorker();
const file = process.env.BENCH_READY_FILE;
if (file) appendFileSync(file, `${process.pid}\n`);
