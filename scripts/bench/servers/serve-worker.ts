/**
 * One worker of Bun's `node:cluster` or of PM2's cluster mode: `Bun.serve` with the bench app on
 * PORT/HOST with `reusePort` (what the fleet's workers do), so those rows compare supervisors,
 * not HTTP stacks. With BENCH_RAW=1 it answers without Hono (see app.ts `rawFetch`).
 */
import { createBenchApp, RAW_ENV, rawFetch } from "./app.ts";

/** Serves the bench app on PORT/HOST (reusePort); stops on SIGTERM/SIGINT. */
export function serveBenchWorker(): void {
  const port = Number(process.env.PORT);
  const hostname = process.env.HOST ?? "127.0.0.1";
  const fetch = process.env[RAW_ENV] === "1" ? rawFetch : createBenchApp().fetch;
  const server = Bun.serve({ port, hostname, reusePort: true, development: false, fetch });
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
