/**
 * The physical reference: one `Bun.serve` with the bench app, no fleet. Prints one ready line
 * (`bench-bare: ready pid <pid> cpu <ms> ms`) once it listens; stops on SIGTERM/SIGINT.
 */
import { createBenchApp } from "./app.ts";
import { measureCpuMs } from "./calibrate.ts";

const port = Number(process.env.PORT);
const hostname = process.env.HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`bench-bare: PORT must be 1-65535; got ${process.env.PORT}`);
  process.exit(2);
}

const app = createBenchApp();
const server = Bun.serve({ port, hostname, development: false, fetch: app.fetch });
const stop = () => void server.stop(true).then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
console.log(`bench-bare: ready pid ${process.pid} cpu ${measureCpuMs().toFixed(3)} ms`);
