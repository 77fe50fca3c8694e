/**
 * `bun scripts/bench/pubsub-cost.ts [--workers 2,4,8,16] [--rate 4000] [--seconds 5]
 * [--subscribed K] [--redis]`: what one fleet-wide publish costs the primary, against the number of
 * workers. For each size it starts a fleet of the real-time bench app on 127.0.0.1, opens one
 * WebSocket on every worker, subscribed to the topic (on the first K workers only with
 * `--subscribed`, so a high rate does not swamp this client), and sends `rate` frames/s spread
 * round-robin over those sockets; each frame is one `worker.publish` on the worker that holds it.
 * `--redis` starts a redis-server and sets PUBSUB_URL (the primary then bridges to Redis). CPU time comes
 * from `/proc/<pid>/stat` (utime + stime), read around an idle window and a loaded window of the
 * same length: the idle rate is subtracted, so heartbeats and timers do not count. CPU time holds
 * on a busy machine where rates do not; the delivered count is checked (every subscriber gets
 * every message), so a cost is never reported for work that was not done.
 */
import { readFileSync } from "node:fs";
import { freePort } from "../lib/procs.ts";
import { closeAll, connect, type Sub } from "./realtime/clients.ts";
import { runThenExit, startFleet, startRedis } from "./realtime/servers.ts";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const SIZES = arg("workers", "2,4,8,16").split(",").map(Number);
const RATE = Number(arg("rate", "4000"));
const SECONDS = Number(arg("seconds", "5"));
const SUBSCRIBED = Number(arg("subscribed", "0")); // 0: every worker
const REDIS = process.argv.includes("--redis");
const TICK_HZ = 100; // getconf CLK_TCK on Linux

/** CPU seconds (user + system) `pid` has used, or 0 when it is gone. */
function cpuOf(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICK_HZ; // fields 14 and 15 of stat(5)
  } catch {
    return 0;
  }
}

/** Primary and workers' CPU seconds (workers summed). */
function cpu(primary: number, workers: number[]): { primary: number; workers: number } {
  return { primary: cpuOf(primary), workers: workers.reduce((sum, pid) => sum + cpuOf(pid), 0) };
}

/** Sends `rate` frames/s for `seconds`, round-robin over `subs`; returns how many were sent. */
async function drive(subs: Sub[], rate: number, seconds: number): Promise<number> {
  const start = performance.now();
  let sent = 0;
  for (let now = start; now - start < seconds * 1000; now = performance.now()) {
    const due = Math.floor(((now - start) / 1000) * rate);
    while (sent < due) {
      (subs[sent % subs.length] as Sub).ws.send("p");
      sent += 1;
    }
    await Bun.sleep(1);
  }
  return sent;
}

/** One socket on each of `workers` workers; the first `subscribed` listen to "cost". */
async function onEvery(port: number, workers: number, subscribed: number): Promise<Sub[]> {
  const kept = new Map<number, Sub>();
  for (let attempt = 0; attempt < 400 && kept.size < workers; attempt++) {
    const listens = kept.size < subscribed;
    const sub = await connect(port, listens ? "cost" : "idle", "cost");
    if (kept.has(sub.worker)) sub.ws.close();
    else kept.set(sub.worker, sub);
  }
  if (kept.size < workers) throw new Error(`could not reach all ${workers} workers`);
  return [...kept.values()];
}

async function waitDelivered(subs: Sub[], expected: number, timeoutMs = 10_000): Promise<number> {
  const total = () => subs.reduce((sum, s) => sum + s.received, 0);
  const end = performance.now() + timeoutMs;
  while (total() < expected && performance.now() < end) await Bun.sleep(20);
  await Bun.sleep(200); // anything beyond expected (duplicates) shows up too
  return total();
}

async function measure(workers: number, env: Record<string, string>) {
  const port = freePort();
  const fleet = await startFleet(port, workers, env);
  try {
    const listening = SUBSCRIBED > 0 ? Math.min(SUBSCRIBED, workers) : workers;
    const subs = await onEvery(port, workers, listening);
    const pids = fleet.pids().filter((pid) => pid !== fleet.pgid);
    await drive(subs, RATE, 1); // warm up (JIT, IPC buffers)
    await waitDelivered(subs, 0, 0);
    await Bun.sleep(500);
    const idle0 = cpu(fleet.pgid, pids);
    await Bun.sleep(SECONDS * 1000);
    const idle1 = cpu(fleet.pgid, pids);
    for (const s of subs) s.received = 0;
    const load0 = cpu(fleet.pgid, pids);
    const t0 = performance.now();
    const sent = await drive(subs, RATE, SECONDS);
    const delivered = await waitDelivered(subs, sent * listening);
    const load1 = cpu(fleet.pgid, pids);
    const loadS = (performance.now() - t0) / 1000;
    await closeAll(subs);
    // The loaded window ran longer than SECONDS (delivery wait): the idle rate scales to it.
    const idlePerS = {
      primary: (idle1.primary - idle0.primary) / SECONDS,
      workers: (idle1.workers - idle0.workers) / SECONDS,
    };
    const load = { from: load0, to: load1 };
    return { workers, listening, sent, delivered, idlePerS, loadS, load };
  } finally {
    await fleet.stop(); // resolves once every process of the group is gone
  }
}

const us = (seconds: number, n: number) => ((seconds / n) * 1e6).toFixed(1);

async function main() {
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(
    `pub/sub cost: ${RATE.toLocaleString("en-US")} publishes/s for ${SECONDS} s, one socket per worker${REDIS ? ", PUBSUB_URL (Redis)" : ""}, ${SUBSCRIBED > 0 ? `subscribers on ${SUBSCRIBED} worker(s)` : "each subscribed"}; load average ${load}`,
  );
  console.log(
    "workers  sent     delivered/expected   primary us/publish   workers us/publish (sum)",
  );
  const rows: [number, number][] = [];
  const redisPort = freePort();
  const redis = REDIS ? await startRedis(redisPort) : null;
  if (REDIS && !redis) throw new Error("--redis: redis-server is not installed");
  const env: Record<string, string> = redis ? { PUBSUB_URL: `redis://127.0.0.1:${redisPort}` } : {};
  for (const workers of SIZES) {
    const r = await measure(workers, env);
    const primary = r.load.to.primary - r.load.from.primary - r.idlePerS.primary * r.loadS;
    const workersCpu = r.load.to.workers - r.load.from.workers - r.idlePerS.workers * r.loadS;
    rows.push([workers, (primary / r.sent) * 1e6]);
    const ok = r.delivered === r.sent * r.listening ? "" : "  (MISMATCH)";
    console.log(
      `${String(workers).padStart(7)}  ${String(r.sent).padEnd(7)}  ${`${r.delivered}/${r.sent * r.listening}`.padEnd(19)}  ${us(primary, r.sent).padStart(18)}   ${us(workersCpu, r.sent).padStart(22)}${ok}`,
    );
  }
  if (rows.length >= 2) {
    // Least squares: primary us/publish = a + b * workers; the primary saturates at 1e6 / cost.
    const n = rows.length;
    const mx = rows.reduce((s, [x]) => s + x, 0) / n;
    const my = rows.reduce((s, [, y]) => s + y, 0) / n;
    const b =
      rows.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) /
      rows.reduce((s, [x]) => s + (x - mx) ** 2, 0);
    const a = my - b * mx;
    const at64 = a + b * 64;
    console.log(
      `fit: primary us/publish = ${a.toFixed(1)} + ${b.toFixed(2)} x workers; at 64 workers ${at64.toFixed(1)} us, ceiling ${at64 > 0 ? Math.round(1e6 / at64).toLocaleString("en-US") : "unbounded by the primary"} publishes/s`,
    );
  }
}

await runThenExit(main);
