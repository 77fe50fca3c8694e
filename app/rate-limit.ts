/**
 * RATE_LIMIT_PER_MINUTE on /api/*, per client address (`worker.clientAddress`: the balancer's
 * client behind TRUSTED_PROXIES), for the whole fleet: hono-rate-limiter's middleware (its
 * fixed window, its 429, `Retry-After` and the IETF draft-7 `RateLimit-Policy` / `RateLimit`
 * headers) with a store that counts where every worker sees the same number. With REDIS_URL
 * that is Redis, so every host shares one budget; without it, or while Redis is away, the
 * fleet's own counter in the primary (`worker.countHit`), so the limit still holds for this host.
 * Failing open to the host's counter, rather than answering 503, keeps the API up through a
 * Redis outage: a client then gets at most one budget per host instead of one in all.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type RateLimitInfo, rateLimiter, type Store } from "hono-rate-limiter";
import type { FleetWorker } from "../workers/fleet.ts";
import { type AppRedis, RedisUnavailable } from "./redis.ts";

/** The limit's window: RATE_LIMIT_PER_MINUTE counts per minute. */
export const WINDOW_MS = 60_000;

/** Redis keys of the limit: one per client address, expiring with its window. */
export const REDIS_PREFIX = "bun-fleet:rate:";

/** INCR, the window's expiry on the first hit, and what is left of it: one round trip. */
const INCREMENT = `local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

type Hits = { totalHits: number; resetTime?: Date };

/**
 * The store: Redis when there is one and it answers, else the fleet's counter. A fleet counter
 * that does not answer in time (the primary is gone or stuck) lets the request in.
 */
export class FleetStore implements Store {
  constructor(
    private readonly worker: Pick<FleetWorker, "countHit">,
    private readonly redis: AppRedis | null,
    private readonly windowMs = WINDOW_MS,
  ) {}

  async increment(key: string): Promise<Hits> {
    if (this.redis) {
      try {
        const [count, ttl] = (await this.redis.run((client) =>
          client.send("EVAL", [INCREMENT, "1", `${REDIS_PREFIX}${key}`, String(this.windowMs)]),
        )) as [number, number];
        return { totalHits: count, resetTime: new Date(Date.now() + ttl) };
      } catch (error) {
        if (!(error instanceof RedisUnavailable)) throw error;
        // Logged once per outage by app/redis.ts: this host counts alone meanwhile.
      }
    }
    const counted = await this.worker.countHit(key, this.windowMs);
    if (!counted) return { totalHits: 0 };
    return { totalHits: counted.count, resetTime: new Date(counted.resetAt) };
  }

  /** Only used with skipFailedRequests / skipSuccessfulRequests, which this limit does not set. */
  decrement(): void {}

  resetKey(): void {}
}

/** The 429 body: JSON, like every error of the API (Retry-After is set by the middleware). */
function tooMany(c: Context) {
  const { limit, resetTime } = c.get("rateLimit" as never) as RateLimitInfo;
  const retryAfterS = resetTime
    ? Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000))
    : WINDOW_MS / 1000;
  return c.json({ error: "Too Many Requests", limit, retryAfterS }, 429);
}

/**
 * The middleware for `limit` requests per minute per client address, counted in `store`.
 * Headers (draft-7): `RateLimit-Policy: 100;w=60`, `RateLimit: limit=100, remaining=42, reset=17`,
 * and `Retry-After` (seconds) on a 429.
 */
export function rateLimit(
  worker: Pick<FleetWorker, "clientAddress">,
  limit: number,
  store: Store,
): MiddlewareHandler {
  return rateLimiter({
    windowMs: WINDOW_MS,
    limit,
    standardHeaders: "draft-7",
    keyGenerator: (c) => worker.clientAddress(c.req.raw),
    handler: tooMany,
    store,
  });
}
