/**
 * `bun scripts/bench/pubsub-cost.ts [--workers 2,4,8,16] [--rate 4000] [--seconds 5]
 * [--subscribed K] [--redis] [--check W:RATE:K | --no-check] [--quick] [--json]`: what one
 * fleet-wide publish costs the primary, against the number of workers; then the check that a
 * 16-worker fleet delivers every one of 20,000 publishes/s to subscribers on 2 workers (`--check`
 * changes it). `--quick` is a ~6 s smoke run (2 workers, 1 s windows); `--json` prints one object
 * (what `bun run bench` reads when it runs this as its pub/sub section). For each size it starts a fleet of the real-time bench app on 127.0.0.1, opens one
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
import { type PubsubResult, type PubsubRow, pubsubLines } from "./pubsub-report.ts";
import { closeAll, connect, type Sub } from "./realtime/clients.ts";
import { runThenExit, startFleet, startRedis } from "./realtime/servers.ts";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const QUICK = process.argv.includes("--quick");
const JSON_OUT = process.argv.includes("--json");
const SIZES = arg("workers", QUICK ? "2" : "2,4,8,16")
  .split(",")
  .map(Number);
const RATE = Number(arg("rate", QUICK ? "1000" : "4000"));
const SECONDS = Number(arg("seconds", QUICK ? "1" : "5"));
const SUBSCRIBED = Number(arg("subscribed", "0")); // 0: every worker
const REDIS = process.argv.includes("--redis");
/** The high-rate check: workers, publishes/s, workers with a subscriber. */
const CHECK = process.argv.includes("--no-check")
  ? null
  : arg("check", QUICK ? "2:2000:2" : "16:20000:2")
      .split(":")
      .map(Number);
const WARM_S = QUICK ? 0.2 : 1;
for (const n of [...SIZES, RATE, SECONDS, SUBSCRIBED, ...(CHECK ?? [0, 0, 0])]) {
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`pubsub-cost: bad number in ${process.argv.slice(2).join(" ")}`);
}
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

async function measure(
  workers: number,
  env: Record<string, string>,
  rate: number,
  subscribed: number,
): Promise<PubsubRow> {
  const port = freePort();
  const fleet = await startFleet(port, workers, env);
  try {
    const listening = subscribed > 0 ? Math.min(subscribed, workers) : workers;
    const subs = await onEvery(port, workers, listening);
    const pids = fleet.pids().filter((pid) => pid !== fleet.pgid);
    await drive(subs, rate, WARM_S); // warm up (JIT, IPC buffers)
    await waitDelivered(subs, 0, 0);
    await Bun.sleep(QUICK ? 100 : 500);
    const idle0 = cpu(fleet.pgid, pids);
    await Bun.sleep(SECONDS * 1000);
    const idle1 = cpu(fleet.pgid, pids);
    for (const s of subs) s.received = 0;
    const load0 = cpu(fleet.pgid, pids);
    const t0 = performance.now();
    const sent = await drive(subs, rate, SECONDS);
    const delivered = await waitDelivered(subs, sent * listening);
    const load1 = cpu(fleet.pgid, pids);
    const loadS = (performance.now() - t0) / 1000;
    await closeAll(subs);
    // The loaded window ran longer than SECONDS (delivery wait): the idle rate scales to it.
    const idlePerS = {
      primary: (idle1.primary - idle0.primary) / SECONDS,
      workers: (idle1.workers - idle0.workers) / SECONDS,
    };
    const primary = load1.primary - load0.primary - idlePerS.primary * loadS;
    const workersCpu = load1.workers - load0.workers - idlePerS.workers * loadS;
    return {
      workers,
      rate,
      listening,
      sent,
      delivered,
      expected: sent * listening,
      primaryUs: (primary / sent) * 1e6,
      workersUs: (workersCpu / sent) * 1e6,
    };
  } finally {
    await fleet.stop(); // resolves once every process of the group is gone
  }
}

async function main() {
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const redisPort = freePort();
  const redis = REDIS ? await startRedis(redisPort) : null;
  if (REDIS && !redis) throw new Error("--redis: redis-server is not installed");
  const env: Record<string, string> = redis ? { PUBSUB_URL: `redis://127.0.0.1:${redisPort}` } : {};
  const started = performance.now();
  const result: PubsubResult = {
    quick: QUICK,
    rate: RATE,
    seconds: SECONDS,
    subscribed: SUBSCRIBED,
    redis: REDIS,
    loadAverage: load,
    rows: [],
    check: null,
    durationS: 0,
  };
  for (const workers of SIZES) result.rows.push(await measure(workers, env, RATE, SUBSCRIBED));
  if (CHECK) {
    const [workers, rate, subscribed] = CHECK as [number, number, number];
    result.check = await measure(workers, env, rate, subscribed);
  }
  result.durationS = (performance.now() - started) / 1000;
  console.log(JSON_OUT ? JSON.stringify(result) : pubsubLines(result).join("\n"));
}

await runThenExit(main);
