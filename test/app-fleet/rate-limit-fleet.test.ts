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
async function burst(
  fleet: Fleet,
  n: number,
  path = "/api/todos",
  concurrency = 8,
  headers: Record<string, string> = {},
) {
  const statuses: number[] = [];
  const workers = new Set<string>();
  const refused: Response[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next += 1;
      const res = await freshFetch(fleet.url(path), {
        headers,
        signal: AbortSignal.timeout(10_000),
      });
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
    // 60 on the first fleet, 60 on the second, then 30 more on each: 100 answers in all
    // (a fleet may still hold a few leased requests, which its next requests use).
    expect((await burst(a, 60)).ok).toBe(60);
    const bFirst = (await burst(b, 60)).ok;
    const aThen = (await burst(a, 30)).ok;
    const bThen = (await burst(b, 30)).ok;
    expect(bFirst + bThen).toBeLessThanOrEqual(42); // alone, it would have answered all 90
    // Never more than the budget; fewer by what the four workers still hold leased when a burst
    // ends (a fleet's workers keep their last leases while the other fleet's requests are refused:
    // each at most 1/8 of what was left when it was granted; 90 and 97 of 100 seen in full runs
    // with both cores busy), so the lower bound allows a few leases per worker.
    expect(60 + bFirst + aThen + bThen).toBeLessThanOrEqual(102);
    expect(60 + bFirst + aThen + bThen).toBeGreaterThanOrEqual(80);
  });

  test("while Redis is away the limit falls back to the host's own budget without waiting, one line per worker says so, and Redis is used again once it is back", async () => {
    const redis = await startRedis();
    // Clients told apart by X-Forwarded-For from the trusted 127.0.0.1, one per phase.
    const fleet = await limited(5, { REDIS_URL: redis.url, TRUSTED_PROXIES: "127.0.0.1/32" });
    const from = (client: string) =>
      burst(fleet, 8, "/api/todos", 8, { "x-forwarded-for": client });
    const probe = new RedisClient(redis.url);
    try {
      expect((await from("198.51.100.1")).ok).toBe(5);
      expect(Number(await probe.get("bun-fleet:rate:198.51.100.1"))).toBe(5); // granted, no more
      probe.close();

      await redis.kill();
      await waitFor(
        "both workers to notice",
        () => count(fleet.stderr(), /redis: redis:\/\/127\.0\.0\.1:\d+\/? is unavailable/g) === 2,
      );
      // Counted by this host alone now: the same limit, every request answered at once.
      const during = await from("198.51.100.2");
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
      expect((await from("198.51.100.3")).ok).toBe(5);
      const again = new RedisClient(redis.url);
      expect(Number(await again.get("bun-fleet:rate:198.51.100.3"))).toBe(5);
      expect(await again.get("bun-fleet:rate:198.51.100.2")).toBeNull(); // counted locally
      again.close();
      // One line each way per worker, not one per request.
      expect(count(fleet.stderr(), /is unavailable/g)).toBe(2);
    } finally {
      probe.close();
    }
  });

  test("a Redis that answers nothing (stopped) holds no request past the helper's deadline: it is counted by the host meanwhile, and Redis counts again once it answers", async () => {
    const redis = await startRedis();
    const fleet = await limited(5, { REDIS_URL: redis.url, TRUSTED_PROXIES: "127.0.0.1/32" });
    const from = (client: string) =>
      burst(fleet, 8, "/api/todos", 8, { "x-forwarded-for": client });
    expect((await from("198.51.100.1")).ok).toBe(5);
    redis.signal("SIGSTOP");
    try {
      // Each request gives up on Redis after 250 ms (the fetch timeout is 10 s).
      const during = await from("198.51.100.2");
      expect(during.ok).toBe(5);
      expect(fleet.stderr()).toMatch(/redis: .* is unavailable \(no answer within 250 ms\)/);
    } finally {
      redis.signal("SIGCONT");
    }
    await waitFor("Redis to answer again", async () => {
      await from(`198.51.100.${3 + Math.floor(Math.random() * 200)}`);
      return fleet.stderr().includes("answers again");
    });
    expect((await from("198.51.100.250")).ok).toBe(5);
    const probe = new RedisClient(redis.url);
    expect(Number(await probe.get("bun-fleet:rate:198.51.100.250"))).toBe(5);
    probe.close();
  });
});
