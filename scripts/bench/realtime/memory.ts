/**
 * Memory sections of the real-time bench: RSS per idle WebSocket, and the primary's RSS while a
 * stalled worker falls behind a flood.
 */

import { groupRssBytes, rssBytes } from "../../lib/procs.ts";
import { closeAll, openIdle } from "./clients.ts";
import type { Running } from "./servers.ts";

const MB = 2 ** 20;

/** What `idleMemory` measured. */
export interface IdleMemory {
  count: number;
  /** Sockets per worker, "a/b". */
  split: string;
  beforeMb: number;
  afterMb: number;
  perSocketKb: number;
}

/** What `flood` measured. */
export interface Flood {
  budget: string;
  messages: number;
  stallMs: number;
  beforeMb: number;
  peakMb: number;
}

/** Fleet RSS before and after `count` idle WebSockets. */
export async function idleMemory(
  fleet: Running,
  count: number,
  settleMs: number,
): Promise<IdleMemory> {
  const { port } = fleet;
  const warm = await openIdle(port, 100);
  await closeAll(warm); // first sockets allocate pools that later ones reuse
  await Bun.sleep(500);
  const before = groupRssBytes(fleet.pgid);
  const subs = await openIdle(port, count);
  await Bun.sleep(settleMs); // idle: let allocations settle before reading RSS
  const after = groupRssBytes(fleet.pgid);
  const split = [0, 1].map((w) => subs.filter((s) => s.worker === w).length).join("/");
  await closeAll(subs);
  return {
    count,
    split,
    beforeMb: before / MB,
    afterMb: after / MB,
    perSocketKb: (after - before) / count / 1024,
  };
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

/**
 * Peak primary RSS while worker 0 publishes `messages` x 1 KB and worker 1 is stalled for
 * `stallMs` (with `budget` as PUBSUB_MAX_LAG_BYTES, as the fleet was started).
 */
export async function flood(
  fleet: Running,
  budget: string,
  messages: number,
  stallMs: number,
): Promise<Flood> {
  const primary = fleet.pgid; // the group leader is the primary
  const before = rssBytes(primary) ?? 0;
  // Worker 1 stalls in 500 ms: until then a request that lands on it is refused at once (409),
  // so finding worker 0 for the flood never waits on the stalled one.
  await onWorker(fleet.port, `/block?ms=${stallMs}&after=500`, 1);
  const sampling = (async () => {
    let peak = before;
    for (const end = performance.now() + stallMs; performance.now() < end; await Bun.sleep(50)) {
      peak = Math.max(peak, rssBytes(primary) ?? 0);
    }
    return peak;
  })();
  await onWorker(fleet.port, `/pub?topic=flood&n=${messages}&size=1000`, 0);
  const peak = await sampling;
  return { budget, messages, stallMs, beforeMb: before / MB, peakMb: peak / MB };
}
