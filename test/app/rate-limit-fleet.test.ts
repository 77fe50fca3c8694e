/**
 * RATE_LIMIT_PER_MINUTE on the template app, black-box: a real fleet of 2 workers (the kernel
 * spreads fresh connections over both), and with REDIS_URL a real redis-server shared by two
 * fleets, stopped and restarted under them.
 */
import { describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import {
  count,
  type Fleet,
  freshFetch,
  PROJECT_APP,
  startReadyFleet,
  waitFor,
} from "../helpers/fleet.ts";
import { startRedis } from "../helpers/redis.ts";

/** `n` GETs of `path` on fresh connections, `concurrency` at a time: statuses and answering workers. */
async function burst(fleet: Fleet, n: number, path = "/api/todos", concurrency = 8) {
  const statuses: number[] = [];
  const workers = new Set<string>();
  const refused: Response[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next += 1;
      const res = await freshFetch(fleet.url(path), { signal: AbortSignal.timeout(10_000) });
      statuses.push(res.status);
      if (res.status === 200) workers.add(res.headers.get("x-worker-index") ?? "?");
      if (res.status === 429 && refused.length < 3) refused.push(res);
      else await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { statuses, workers, refused, ok: statuses.filter((s) => s === 200).length };
}

const limited = (limit: number, env: Record<string, string> = {}) =>
  startReadyFleet({ env: { ...PROJECT_APP, RATE_LIMIT_PER_MINUTE: String(limit), ...env } });

describe("template app: the rate limit holds for the fleet", () => {
  test("2 workers, 100/min: 300 requests on fresh connections from one client get 100 answers (±2), the rest 429 JSON with Retry-After and RateLimit headers; fleet routes are never limited", async () => {
    const fleet = await limited(100);
    const { statuses, workers, refused, ok } = await burst(fleet, 300);
    expect(ok).toBeGreaterThanOrEqual(98);
    expect(ok).toBeLessThanOrEqual(102);
    expect(statuses.filter((s) => s === 429).length).toBe(300 - ok);
    expect([...workers].sort()).toEqual(["0", "1"]); // both workers served: one budget for both
    for (const res of refused) {
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(res.headers.get("ratelimit-policy")).toBe("100;w=60");
      expect(res.headers.get("ratelimit")).toMatch(/^limit=100, remaining=0, reset=\d+$/);
      expect(await res.json()).toMatchObject({ error: "Too Many Requests", limit: 100 });
    }
    for (const path of ["/healthz", "/readyz", "/hello"]) {
      const { ok: fine } = await burst(fleet, 20, path);
      expect(fine).toBe(20);
    }
  });

  test("with REDIS_URL two fleets share one budget", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([
      limited(100, { REDIS_URL: redis.url }),
      limited(100, { REDIS_URL: redis.url }),
    ]);
    // 60 on the first fleet, then 60 on the second: the second has 40 left of the one budget.
    expect((await burst(a, 60)).ok).toBe(60);
    const second = await burst(b, 60);
    expect(second.ok).toBeGreaterThanOrEqual(38);
    expect(second.ok).toBeLessThanOrEqual(42);
    expect((await burst(a, 10)).ok).toBe(0);
  });

  test("while Redis is away the limit falls back to the host's own counter without waiting, one line per worker says so, and Redis is used again once it is back", async () => {
    const redis = await startRedis();
    const fleet = await limited(5, { REDIS_URL: redis.url });
    const probe = new RedisClient(redis.url);
    try {
      expect((await burst(fleet, 8)).ok).toBe(5);
      expect(Number(await probe.get("bun-fleet:rate:127.0.0.1"))).toBe(8);

      await redis.kill();
      await waitFor(
        "both workers to notice",
        () => count(fleet.stderr(), /redis: redis:\/\/127\.0\.0\.1:\d+\/? is unavailable/g) === 2,
      );
      // Counted by the fleet alone now: a fresh budget of 5, every request answered at once.
      const during = await burst(fleet, 8);
      expect(during.ok).toBe(5);
      expect(during.statuses.filter((s) => s === 429).length).toBe(3);

      await redis.restart();
      await waitFor(
        "both workers to reconnect",
        () =>
          count(
            fleet.stderr(),
            /redis: redis:\/\/127\.0\.0\.1:\d+\/? answers again after \d+ ms/g,
          ) === 2,
        10_000,
      );
      const after = await burst(fleet, 8);
      expect(after.ok).toBe(5); // a restarted Redis (no persistence) starts a new window
      probe.close();
      const again = new RedisClient(redis.url);
      expect(Number(await again.get("bun-fleet:rate:127.0.0.1"))).toBe(8);
      again.close();
      // One line each way per worker, not one per request.
      expect(count(fleet.stderr(), /is unavailable/g)).toBe(2);
    } finally {
      probe.close();
    }
  });
});
