/**
 * `bun run bench:realtime [-- --quick] [--json]`: fleet-wide pub/sub against one process's own
 * `server.publish`, on 127.0.0.1 only, bounded in time. Prints fan-out (messages/s delivered to
 * 8 subscribers; fleet and reference interleaved, median ratio), fan-out through Redis,
 * cross-worker latency at a fixed rate (interleaved rounds), RSS per idle WebSocket, and the
 * primary's RSS while a stalled worker falls behind a flood. `--json` prints one object (what
 * `bun run bench` reads when it runs this as its real-time section).
 */

import { freePort } from "../../lib/procs.ts";
import { closeAll, connect, fanOut, latency, percentile, type Sub, spread } from "./clients.ts";
import { flood, idleMemory } from "./memory.ts";
import { type Percentiles, type RealtimeResult, realtimeLines } from "./report.ts";
import { runThenExit, startFleet, startRedis, startReference } from "./servers.ts";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
/** `--section fanout|redis|latency|memory` runs one section (`bun run` keeps `--only` for itself). */
const only = process.argv[process.argv.indexOf("--section") + 1];
const runs = (section: string) => !process.argv.includes("--section") || only === section;
const plan = quick
  ? { rounds: 1, n: 5_000, latencyMs: 300, idle: 300, redis: false }
  : { rounds: 5, n: 100_000, latencyMs: 5_000, idle: 10_000, redis: true };
/** Flood: messages x 1 KB, and how long worker 1 stalls (ms). */
const floodSize: [number, number] = quick ? [5_000, 500] : [100_000, 4_000];
const SIZE = 32;
const RATE = 10_000;
const SUBSCRIBERS = 8;

const median = (values: number[]) => percentile(values, 50);

async function fanOutRounds(fleetPort: number, refPort: number) {
  const fleetSubs = await spread(fleetPort, "bench", 2, SUBSCRIBERS / 2);
  const refSubs = await spread(refPort, "bench", 1, SUBSCRIBERS);
  const ratios: number[] = [];
  const rounds: NonNullable<RealtimeResult["fanout"]>["rounds"] = [];
  for (let round = 0; round < plan.rounds; round++) {
    // Interleaved, so both see the same noise of this shared machine.
    const reference = await fanOut(refPort, refSubs, plan.n, SIZE);
    const fleet = await fanOut(fleetPort, fleetSubs, plan.n, SIZE);
    ratios.push(fleet.perSecond / reference.perSecond);
    rounds.push({ reference, fleet });
  }
  await closeAll([...fleetSubs, ...refSubs]);
  return { ratio: median(ratios), rounds };
}

async function fanOutRedis(): Promise<NonNullable<RealtimeResult["redis"]>> {
  const redisPort = freePort();
  const redis = await startRedis(redisPort);
  if (!redis) return { skipped: "redis-server is not installed" };
  const env = { PUBSUB_URL: `redis://127.0.0.1:${redisPort}` };
  const [a, b] = [freePort(), freePort()];
  const [one, two] = await Promise.all([startFleet(a, 2, env), startFleet(b, 2, env)]);
  await Bun.sleep(300); // both fleets' subscriber connections come up in the background
  const subs = await spread(b, "bench", 2, SUBSCRIBERS / 2);
  const result = await fanOut(a, subs, plan.n, SIZE);
  await closeAll(subs);
  await Promise.all([one.stop(), two.stop(), redis.stop()]);
  return result;
}

async function latencies(fleetPort: number, refPort: number) {
  const subs = await spread(fleetPort, "lat", 2, 1);
  const publisher = await connect(fleetPort, "none", "lat");
  const refSub = await connect(refPort, "lat");
  const refPub = await connect(refPort, "none", "lat");
  const cross: number[] = [];
  const same: number[] = [];
  const ref: number[] = [];
  const p99s: [number, number][] = [];
  // Interleaved rounds, so both see the same noise; samples pooled per configuration. A first
  // second on each, not counted, warms up both (JIT, socket buffers), as the HTTP bench's warm-up.
  const roundMs = plan.latencyMs / plan.rounds;
  if (!quick) {
    await latency(publisher, subs, RATE, 1000);
    await latency(refPub, [refSub], RATE, 1000);
  }
  for (let round = 0; round < plan.rounds; round++) {
    const byWorker = await latency(publisher, subs, RATE, roundMs);
    const crossRound = byWorker.get(1 - publisher.worker) ?? [];
    cross.push(...crossRound);
    same.push(...(byWorker.get(publisher.worker) ?? []));
    const refRound = (await latency(refPub, [refSub], RATE, roundMs)).get(0) ?? [];
    ref.push(...refRound);
    p99s.push([percentile(crossRound, 99), percentile(refRound, 99)]);
  }
  await closeAll([...subs, publisher, refSub, refPub] as Sub[]);
  const of = (v: number[]): Percentiles => ({
    p50: percentile(v, 50),
    p90: percentile(v, 90),
    p99: percentile(v, 99),
    messages: v.length,
  });
  return {
    ms: plan.latencyMs,
    cross: of(cross),
    same: of(same),
    reference: of(ref),
    p99PerRound: p99s,
  };
}

async function main() {
  const started = performance.now();
  const result: RealtimeResult = {
    quick,
    rate: RATE,
    subscribers: SUBSCRIBERS,
    size: SIZE,
    n: plan.n,
    rounds: plan.rounds,
    durationS: 0,
  };
  const [fleetPort, refPort] = [freePort(), freePort()];
  // One fleet and one reference for every section; runThenExit stops them.
  const [fleet] = await Promise.all([startFleet(fleetPort, 2), startReference(refPort)]);
  if (runs("latency")) result.latency = await latencies(fleetPort, refPort);
  if (runs("fanout")) result.fanout = await fanOutRounds(fleetPort, refPort);
  if (plan.redis && runs("redis")) result.redis = await fanOutRedis();
  if (runs("memory")) {
    const idle = await idleMemory(fleet, plan.idle, quick ? 200 : 1000);
    const floods = [await flood(fleet, "8 MiB, the default", ...floodSize)];
    if (!quick) {
      // The same flood with the budget out of the way: what the bound saves.
      const unbounded = await startFleet(freePort(), 2, {
        PUBSUB_MAX_LAG_BYTES: "1073741824",
      });
      floods.push(await flood(unbounded, "1 GiB", ...floodSize));
      await unbounded.stop();
    }
    result.memory = { idle, floods };
  }
  result.durationS = (performance.now() - started) / 1000;
  console.log(json ? JSON.stringify(result) : realtimeLines(result).join("\n"));
}

await runThenExit(main);
