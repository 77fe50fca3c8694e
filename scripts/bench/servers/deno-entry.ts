/**
 * The bench app for `deno serve --parallel`: bundled by the bench (hono inlined) and served by
 * Deno, one isolate per job (DENO_JOBS). BENCH_RAW=1 answers without Hono.
 */
import { createBenchApp, RAW_ENV, rawFetch } from "./app.ts";

export default { fetch: process.env[RAW_ENV] === "1" ? rawFetch : createBenchApp().fetch };
