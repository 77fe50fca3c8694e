/**
 * The peer users would otherwise pick: Node's cluster module, N workers, each serving the same
 * bench app with `@hono/node-server` on one port. Written for Node: the bench bundles it with
 * `Bun.build({ target: "node" })` and runs the bundle with `node`. Env: PORT, HOST, WORKERS.
 * The primary prints `bench-node: ready primary <pid> workers <a>, <b>` once every worker listens.
 * It is loaded on hello and JSON only: on the CPU route both runtimes spend their time in the
 * same native hash, which measures the hash, not the cluster.
 */
import cluster from "node:cluster";
import { serve } from "@hono/node-server";
import { createBenchApp } from "./app.ts";
import { clusterPrimary } from "./cluster-primary.ts";

const port = Number(process.env.PORT);
const hostname = process.env.HOST ?? "127.0.0.1";
const workers = Number(process.env.WORKERS ?? "1");

if (cluster.isPrimary) {
  if (!Number.isInteger(port) || port < 1 || !Number.isInteger(workers) || workers < 1) {
    console.error("bench-node: PORT and WORKERS must be positive integers");
    process.exit(2);
  }
  const ready = clusterPrimary("bench-node", workers);
  cluster.on("listening", (worker) => ready(worker.process.pid));
} else {
  const server = serve({ fetch: createBenchApp().fetch, port, hostname });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
