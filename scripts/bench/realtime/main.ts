/**
 * `bun run bench:realtime [-- --quick]`: fleet-wide pub/sub against one process's own
 * `server.publish`, on 127.0.0.1 only, bounded in time. Prints fan-out (messages/s delivered to
 * 8 subscribers; fleet and reference interleaved, median ratio), fan-out through Redis,
 * cross-worker latency at a fixed rate (interleaved rounds), RSS per idle WebSocket, and the
 * primary's RSS while a stalled worker falls behind a flood.
 */

import { freePort } from "../../lib/procs.ts";
import { closeAll, connect, fanOut, latency, percentile, type Sub, spread } from "./clients.ts";
import { flood, idleMemory } from "./memory.ts";
import { runThenExit, startFleet, startRedis, startReference } from "./servers.ts";

const quick = process.argv.includes("--quick");
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
  const redisPort = freePort();
  const redis = await startRedis(redisPort);
  if (!redis) return "  through Redis: skipped (redis-server is not installed)";
  const env = { PUBSUB_URL: `redis://127.0.0.1:${redisPort}` };
  const [a, b] = [freePort(), freePort()];
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
  const line = (label: string, v: number[]) =>
    `  ${label}: p50 ${ms(percentile(v, 50))}, p90 ${ms(percentile(v, 90))}, p99 ${ms(percentile(v, 99))} (${fmt(v.length)} messages)`;
  const rounds = p99s.map(([f, r]) => `${f.toFixed(1)}/${r.toFixed(1)}`).join(", ");
  return {
    p99: percentile(cross, 99),
    rows: [
      line("cross-worker (client -> worker A -> worker B -> client)", cross),
      line("same worker (client -> worker A -> client)", same),
      line("reference, one process", ref),
      `  p99 per round, cross-worker/reference ms: ${rounds}`,
    ],
  };
}

async function main() {
  const started = performance.now();
  console.log(
    `real-time${quick ? " (quick)" : ""}: 2-worker fleet vs one process, ${SUBSCRIBERS} subscribers, ${SIZE}-byte messages, ${fmt(plan.n)} per flood`,
  );
  const [fleetPort, refPort] = [freePort(), freePort()];
  // One fleet and one reference for every section; runThenExit stops them.
  const [fleet] = await Promise.all([startFleet(fleetPort, 2), startReference(refPort)]);
  if (runs("latency")) {
    const lat = await latencies(fleetPort, refPort);
    console.log(`latency at ${fmt(RATE)} msg/s for ${plan.latencyMs} ms`);
    for (const row of lat.rows) console.log(row);
    console.log(`  cross-worker p99 ${ms(lat.p99)} (target <= 2 ms)`);
  }
  if (runs("fanout")) {
    const fan = await fanOutRounds(fleetPort, refPort);
    console.log("fan-out, messages/s delivered (reference: one process's server.publish)");
    for (const row of fan.rows) console.log(row);
    const ratio = fan.ratio.toFixed(2);
    console.log(`  fleet / reference, median of ${plan.rounds}: ${ratio} (target >= 0.8)`);
  }
  if (plan.redis && runs("redis")) console.log(await fanOutRedis());
  if (runs("memory")) {
    console.log("memory");
    console.log(await idleMemory(fleet, plan.idle, quick ? 200 : 1000));
    console.log(await flood(fleet, "8 MiB (default)", ...floodSize));
    if (!quick) {
      // The same flood with the budget out of the way: what the bound saves.
      const unbounded = await startFleet(freePort(), 2, {
        PUBSUB_MAX_LAG_BYTES: "1073741824",
      });
      console.log(await flood(unbounded, "1 GiB", ...floodSize));
      await unbounded.stop();
    }
  }
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await runThenExit(main);
