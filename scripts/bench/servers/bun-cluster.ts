/**
 * Bun's own `node:cluster`: the primary forks WORKERS workers, each `Bun.serve`s the bench app
 * with reusePort (serve-worker.ts). The primary prints
 * `bench-bun-cluster: ready primary <pid> workers <a>, <b>` once every worker has said it
 * listens; a worker that dies is not replaced (what the cluster module does unless you code it).
 */
import cluster from "node:cluster";
import { serveBenchWorker } from "./serve-worker.ts";

const workers = Number(process.env.WORKERS ?? "1");

if (cluster.isPrimary) {
  if (!Number.isInteger(workers) || workers < 1) {
    console.error("bench-bun-cluster: WORKERS must be a positive integer");
    process.exit(2);
  }
  const ready: number[] = [];
  let stopping = false;
  cluster.on("message", (worker, message) => {
    if (message !== "listening" || worker.process.pid === undefined) return;
    ready.push(worker.process.pid);
    if (ready.length === workers)
      console.log(`bench-bun-cluster: ready primary ${process.pid} workers ${ready.join(", ")}`);
  });
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping)
      console.error(`bench-bun-cluster: worker ${worker.process.pid} died (${signal ?? code})`);
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(stopping ? 0 : 1);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  serveBenchWorker();
  process.send?.("listening");
}
