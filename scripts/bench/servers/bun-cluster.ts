/**
 * Bun's own `node:cluster`: the primary forks WORKERS workers, each `Bun.serve`s the bench app
 * with reusePort (serve-worker.ts). The primary prints
 * `bench-bun-cluster: ready primary <pid> workers <a>, <b>` once every worker has said it
 * listens; a worker that dies is not replaced (what the cluster module does unless you code it).
 */
import cluster from "node:cluster";
import { clusterPrimary } from "./cluster-primary.ts";
import { serveBenchWorker } from "./serve-worker.ts";

const workers = Number(process.env.WORKERS ?? "1");

if (cluster.isPrimary) {
  if (!Number.isInteger(workers) || workers < 1) {
    console.error("bench-bun-cluster: WORKERS must be a positive integer");
    process.exit(2);
  }
  const ready = clusterPrimary("bench-bun-cluster", workers);
  // Bun's cluster emits no "listening" for a worker's Bun.serve: each worker says so itself.
  cluster.on("message", (worker, message) => {
    if (message === "listening") ready(worker.process.pid);
  });
} else {
  serveBenchWorker();
  process.send?.("listening");
}
