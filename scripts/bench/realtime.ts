/**
 * `bun run bench:realtime [-- --quick]`: fleet-wide pub/sub against one process's own
 * `server.publish`, on 127.0.0.1 only, bounded in time. Prints fan-out (messages/s delivered to
 * 8 subscribers; fleet and reference interleaved, median ratio), fan-out through Redis,
 * cross-worker latency at a fixed rate, and RSS per idle WebSocket.
 */

import {
  closeAll,
  connect,
  fanOut,
  latency,
  openIdle,
  percentile,
  type Sub,
  spread,
} from "./realtime-clients.ts";
import { freePort } from "./realtime-ports.ts";
import {
  groupRss,
  type Running,
  rssOf,
  startFleet,
  startRedis,
  startReference,
  stopAll,
} from "./realtime-procs.ts";

const quick = process.argv.includes("--quick");
/** `--section fanout|redis|latency|memory` runs one section (`bun run` keeps `--only` for itself). */
const only = process.argv[process.argv.indexOf("--section") + 1];
const runs = (section: string) => !process.argv.includes("--section") || only === section;
const plan = quick
  ? { rounds: 1, n: 5_000, latencyMs: 300, idle: 300, redis: false }
  : { rounds: 5, n: 100_000, latencyMs: 3_000, idle: 10_000, redis: true };
const SIZE = 32;
const RATE = 10_000;
const SUBSCRIBERS = 8;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n.toFixed(2)} ms`;
const median = (values: number[]) => percentile(values, 50);

async function fanOutRounds(fleetPort: number, refPort: number) {
  const fleetSubs = await spread(fleetPort, "bench", 2, SUBSCRIBERS / 2);
  const refSubs = await spread(refPort, "bench", 1, SUBSCRIBERS);
  const ratios: number[] = [];
  const rows: string[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    // Interleaved, so both see the same noise of this shared machine.
    const r = await fanOut(refPort, refSubs, plan.n, SIZE);
    const f = await fanOut(fleetPort, fleetSubs, plan.n, SIZE);
    ratios.push(f.perSecond / r.perSecond);
    rows.push(
      `  round ${round + 1}: reference ${fmt(r.perSecond)} msg/s (${fmt(r.delivered)}/${fmt(r.expected)}), fleet ${fmt(f.perSecond)} msg/s (${fmt(f.delivered)}/${fmt(f.expected)}), ratio ${(f.perSecond / r.perSecond).toFixed(2)}`,
    );
  }
  await closeAll([...fleetSubs, ...refSubs]);
  return { ratio: median(ratios), rows };
}

async function fanOutRedis() {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  if (!redis) return "  through Redis: skipped (redis-server is not installed)";
  const env = { PUBSUB_URL: `redis://127.0.0.1:${redisPort}` };
  const [a, b] = [await freePort(), await freePort()];
  const [one, two] = await Promise.all([startFleet(a, 2, env), startFleet(b, 2, env)]);
  await Bun.sleep(300); // both fleets' subscriber connections come up in the background
  const subs = await spread(b, "bench", 2, SUBSCRIBERS / 2);
  const result = await fanOut(a, subs, plan.n, SIZE);
  await closeAll(subs);
  await Promise.all([one.stop(), two.stop(), redis.stop()]);
  return `  through Redis (fleet x2 publishes, 8 subscribers on a second fleet x2): ${fmt(result.perSecond)} msg/s (${fmt(result.delivered)}/${fmt(result.expected)} delivered)`;
}

async function latencies(fleetPort: number, refPort: number) {
  const subs = await spread(fleetPort, "lat", 2, 1);
  const publisher = await connect(fleetPort, "none", "lat");
  const byWorker = await latency(publisher, subs, RATE, plan.latencyMs);
  const cross = byWorker.get(1 - publisher.worker) ?? [];
  const same = byWorker.get(publisher.worker) ?? [];
  const refSub = await connect(refPort, "lat");
  const refPub = await connect(refPort, "none", "lat");
  const refSamples = (await latency(refPub, [refSub], RATE, plan.latencyMs)).get(0) ?? [];
  await closeAll([...subs, publisher, refSub, refPub] as Sub[]);
  const line = (label: string, v: number[]) =>
    `  ${label}: p50 ${ms(percentile(v, 50))}, p90 ${ms(percentile(v, 90))}, p99 ${ms(percentile(v, 99))} (${fmt(v.length)} messages)`;
  return {
    p99: percentile(cross, 99),
    rows: [
      line("cross-worker (client -> worker A -> primary -> worker B -> client)", cross),
      line("same worker (client -> worker A -> client)", same),
      line("reference, one process", refSamples),
    ],
  };
}

async function idleMemory(fleet: Running) {
  const { port } = fleet;
  const warm = await openIdle(port, 100);
  await closeAll(warm); // first sockets allocate pools that later ones reuse
  await Bun.sleep(500);
  const before = groupRss(fleet);
  const subs = await openIdle(port, plan.idle);
  await Bun.sleep(quick ? 200 : 1000); // idle: let allocations settle before reading RSS
  const after = groupRss(fleet);
  const split = [0, 1].map((w) => subs.filter((s) => s.worker === w).length).join("/");
  await closeAll(subs);
  const perSocket = (after - before) / plan.idle;
  return `  ${fmt(plan.idle)} idle WebSockets over 2 workers (${split}): fleet RSS ${fmt(before / 2 ** 20)} -> ${fmt(after / 2 ** 20)} MB, ${(perSocket / 1024).toFixed(1)} KB per socket`;
}

/** Until a fresh connection lands on worker `index` and `path` answers 200 there. */
async function onWorker(port: number, path: string, index: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const url = `http://127.0.0.1:${port}${path}${path.includes("?") ? "&" : "?"}worker=${index}`;
    const res = await fetch(url, { method: "POST", headers: { connection: "close" } });
    if (res.status === 200) return;
  }
  throw new Error(`no connection landed on worker ${index} in 100 tries`);
}

async function flood(fleet: Running, budget: string) {
  const messages = quick ? 5_000 : 100_000;
  const stallMs = quick ? 500 : 4_000;
  const primary = fleet.pgid; // the group leader is the primary
  const before = rssOf(primary);
  // Worker 1 stalls in 500 ms: until then a request that lands on it is refused at once (409),
  // so finding worker 0 for the flood never waits on the stalled one.
  await onWorker(fleet.port, `/block?ms=${stallMs}&after=500`, 1);
  const sampling = (async () => {
    let peak = before;
    for (const end = performance.now() + stallMs; performance.now() < end; await Bun.sleep(50)) {
      peak = Math.max(peak, rssOf(primary));
    }
    return peak;
  })();
  await onWorker(fleet.port, `/pub?topic=flood&n=${messages}&size=1000`, 0);
  const peak = await sampling;
  return `  flood, PUBSUB_MAX_LAG_BYTES ${budget}: worker 0 publishes ${fmt(messages)} x 1 KB while worker 1 stalls ${stallMs} ms: primary RSS ${fmt(before / 2 ** 20)} -> peak ${fmt(peak / 2 ** 20)} MB`;
}

async function main() {
  const started = performance.now();
  console.log(
    `real-time${quick ? " (quick)" : ""}: 2-worker fleet vs one process, ${SUBSCRIBERS} subscribers, ${SIZE}-byte messages, ${fmt(plan.n)} per flood`,
  );
  const [fleetPort, refPort] = [await freePort(), await freePort()];
  // One fleet and one reference for every section; stopAll ends them.
  const [fleet] = await Promise.all([startFleet(fleetPort, 2), startReference(refPort)]);
  if (runs("fanout")) {
    const fan = await fanOutRounds(fleetPort, refPort);
    console.log("fan-out, messages/s delivered (reference: one process's server.publish)");
    for (const row of fan.rows) console.log(row);
    const ratio = fan.ratio.toFixed(2);
    console.log(`  fleet / reference, median of ${plan.rounds}: ${ratio} (target >= 0.5)`);
  }
  if (plan.redis && runs("redis")) console.log(await fanOutRedis());
  if (runs("latency")) {
    const lat = await latencies(fleetPort, refPort);
    console.log(`latency at ${fmt(RATE)} msg/s for ${plan.latencyMs} ms`);
    for (const row of lat.rows) console.log(row);
    console.log(`  cross-worker p99 ${ms(lat.p99)} (target <= 2 ms)`);
  }
  if (runs("memory")) {
    console.log("memory");
    console.log(await idleMemory(fleet));
    console.log(await flood(fleet, "8 MiB (default)"));
    if (!quick) {
      // The same flood with the budget out of the way: what the bound saves.
      const unbounded = await startFleet(await freePort(), 2, {
        PUBSUB_MAX_LAG_BYTES: "1073741824",
      });
      console.log(await flood(unbounded, "1 GiB"));
      await unbounded.stop();
    }
  }
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
try {
  await main();
} finally {
  await stopAll();
}
process.exit(0);
