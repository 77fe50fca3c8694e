/**
 * The primary both cluster peers run (Bun's `node:cluster` in bun-cluster.ts, Node's in
 * node-cluster.ts, bundled for Node): forks `workers` workers, prints
 * `<name>: ready primary <pid> workers <a>, <b>` once each has been reported ready, logs a worker
 * that dies (it is not replaced: what the cluster module does unless you code it), and on
 * SIGTERM/SIGINT stops the workers and exits 0 once they are gone.
 * Returns the call that reports a worker ready (each peer learns it its own way).
 */
import cluster from "node:cluster";

export function clusterPrimary(name: string, workers: number): (pid: number | undefined) => void {
  const ready: number[] = [];
  let stopping = false;
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) console.error(`${name}: worker ${worker.process.pid} died (${signal ?? code})`);
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(stopping ? 0 : 1);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  for (let i = 0; i < workers; i++) cluster.fork();
  return (pid) => {
    if (pid === undefined) return;
    ready.push(pid);
    if (ready.length === workers) {
      console.log(`${name}: ready primary ${process.pid} workers ${ready.join(", ")}`);
    }
  };
}
