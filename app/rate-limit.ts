/**
 * RATE_LIMIT_PER_MINUTE on /api/*, per client address (`worker.clientAddress`: the balancer's
 * client behind TRUSTED_PROXIES), for the whole fleet. A fixed window of one minute that starts
 * with the client's first request, counted where every worker sees the same number: with
 * REDIS_URL in Redis, so every host shares one budget; without it, or while Redis is away, in
 * the fleet's own budget (`worker.consume`: the primary, leased to workers), so the limit still
 * holds for this host. Failing open to the host's budget, rather than answering 503, keeps the
 * API up through a Redis outage: a client then gets at most one budget per host instead of one
 * in all. Past the limit: 429 JSON with `Retry-After` and the IETF draft headers
 * `RateLimit-Policy: 100;w=60` and `RateLimit: limit=100, remaining=0, reset=42` (draft-7, as
 * express-rate-limit and hono-rate-limiter write them), also on the answers before it once a
 * tenth or less of the budget is left, so a client sees the limit coming.
 */
import type { MiddlewareHandler } from "hono";
import type { FleetQuota, FleetWorker } from "../workers/fleet.ts";
import { type AppRedis, RedisUnavailable } from "./redis.ts";

/** The limit's window: RATE_LIMIT_PER_MINUTE counts per minute. */
export const WINDOW_MS = 60_000;

/** Redis keys of the limit: one per client address, expiring with its window. */
export const REDIS_PREFIX = "bun-fleet:rate:";

/** INCR, the window's expiry on the first request, and what is left of it: one round trip. */
const INCREMENT = `local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

/** Where requests are counted: a value when known at once, a promise when it must ask. */
export type RateStore = (key: string) => FleetQuota | null | Promise<FleetQuota | null>;

/** The fleet's own budget for `limit` per minute (this host: every worker, one budget). */
export const fleetStore =
  (worker: Pick<FleetWorker, "consume">, limit: number): RateStore =>
  (key) =>
    worker.consume(key, limit, WINDOW_MS);

/**
 * Redis's count (every host, one budget), or the fleet's own while Redis is unavailable (no
 * request waits for it: app/redis.ts answers at once while it is down).
 */
export function redisStore(
  redis: AppRedis,
  worker: Pick<FleetWorker, "consume">,
  limit: number,
): RateStore {
  const local = fleetStore(worker, limit);
  return async (key) => {
    try {
      const [count, ttl] = (await redis.run((client) =>
        client.send("EVAL", [INCREMENT, "1", `${REDIS_PREFIX}${key}`, String(WINDOW_MS)]),
      )) as [number, number];
      return {
        allowed: count <= limit,
        remaining: Math.max(0, limit - count),
        resetAt: Date.now() + ttl,
      };
    } catch (error) {
      if (!(error instanceof RedisUnavailable)) throw error;
      return local(key); // logged once per outage by app/redis.ts
    }
  };
}

/**
 * The middleware: `limit` requests per minute per client address, counted by `store`. A store
 * that cannot answer (null: the primary did not answer in time) lets the request in.
 */
export function rateLimit(
  worker: Pick<FleetWorker, "clientAddress">,
  limit: number,
  store: RateStore,
): MiddlewareHandler {
  const policy = `${limit};w=${WINDOW_MS / 1000}`;
  const nearLimit = Math.floor(limit / 10);
  return async function rateLimit(c, next) {
    const counted = store(worker.clientAddress(c.req.raw));
    const quota = counted instanceof Promise ? await counted : counted;
    if (!quota) return next();
    // Far from the limit, no headers: two more on every answer cost ~5% of a read (measured).
    if (quota.allowed && quota.remaining > nearLimit) return next();
    const resetS = Math.max(0, Math.ceil((quota.resetAt - Date.now()) / 1000));
    c.header("RateLimit-Policy", policy);
    c.header("RateLimit", `limit=${limit}, remaining=${quota.remaining}, reset=${resetS}`);
    if (quota.allowed) return next();
    c.header("Retry-After", String(resetS));
    return c.json({ error: "Too Many Requests", limit, retryAfterS: resetS }, 429);
  };
}
