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
import type { AppConfig } from "./config.ts";
import { type AppRedis, RedisUnavailable, redis } from "./redis.ts";

/** The limit's window: RATE_LIMIT_PER_MINUTE counts per minute. */
export const WINDOW_MS = 60_000;

/** Redis keys of the limit: one per client address, expiring with its window. */
export const REDIS_PREFIX = "bun-fleet:rate:";

/** A lease per grant: 1/8 of what is left, at least 1 (as the fleet's own budget). */
export const LEASE_SHARE = 8;

/**
 * Takes a lease of a client's budget in one round trip: 1/8 of what is left (at least 1; none
 * once it is spent), the window's expiry set on its first request; answers the grant, what is
 * left after it, and the window's remaining ms.
 */
const TAKE = `local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = tonumber(ARGV[1]) - used
local grant = 0
if left > 0 then
  grant = math.max(1, math.floor(left / tonumber(ARGV[3])))
  redis.call('INCRBY', KEYS[1], grant)
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {grant, math.max(0, left - grant), ttl}`;

/** What this worker holds of one client's window in Redis. */
interface Lease {
  resetAt: number;
  tokens: number;
  remaining: number;
  spent: boolean;
}

/** Client windows a worker keeps leases of at most; past it, the oldest goes. */
const MAX_LEASES = 10_000;

/** Where requests are counted: a value when known at once, a promise when it must ask. */
export type RateStore = (key: string) => FleetQuota | null | Promise<FleetQuota | null>;

/** The fleet's own budget for `limit` per minute (this host: every worker, one budget). */
export const fleetStore =
  (worker: Pick<FleetWorker, "consume">, limit: number): RateStore =>
  (key) =>
    worker.consume(key, limit, WINDOW_MS);

/**
 * Redis's count (every host, one budget), leased like the fleet's own: each round trip takes
 * 1/8 of what is left, so far from the limit a request costs a map lookup, and nothing is
 * granted past the limit. While Redis is unavailable (no request waits for it: app/redis.ts
 * answers at once while it is down), the fleet's own budget counts instead.
 */
export function redisStore(
  redis: AppRedis,
  worker: Pick<FleetWorker, "consume">,
  limit: number,
): RateStore {
  const local = fleetStore(worker, limit);
  const leases = new Map<string, Lease>();
  const fromLease = (lease: Lease): FleetQuota | null => {
    if (lease.tokens > 0) {
      lease.tokens -= 1;
      return { allowed: true, remaining: lease.remaining + lease.tokens, resetAt: lease.resetAt };
    }
    return lease.spent ? { allowed: false, remaining: 0, resetAt: lease.resetAt } : null;
  };
  const take = async (key: string): Promise<FleetQuota | null> => {
    let answer: [number, number, number];
    try {
      answer = (await redis.run((client) =>
        client.send("EVAL", [
          TAKE,
          "1",
          `${REDIS_PREFIX}${key}`,
          String(limit),
          String(WINDOW_MS),
          String(LEASE_SHARE),
        ]),
      )) as [number, number, number];
    } catch (error) {
      if (!(error instanceof RedisUnavailable)) throw error;
      return local(key); // logged once per outage by app/redis.ts
    }
    const [granted, remaining, ttl] = answer;
    const resetAt = Date.now() + ttl;
    let lease = leases.get(key);
    if (!lease || lease.resetAt <= Date.now()) {
      if (lease) leases.delete(key);
      if (leases.size >= MAX_LEASES) leases.delete(leases.keys().next().value as string);
      lease = { resetAt, tokens: 0, remaining, spent: false };
      leases.set(key, lease);
    }
    if (granted === 0) {
      lease.spent = true;
      return fromLease(lease); // a token leased earlier is still this request's to use
    }
    lease.tokens += granted - 1;
    lease.remaining = remaining;
    return { allowed: true, remaining: remaining + lease.tokens, resetAt: lease.resetAt };
  };
  return (key) => {
    const lease = leases.get(key);
    if (lease && lease.resetAt > Date.now()) {
      const quota = fromLease(lease);
      if (quota) return quota;
    }
    return take(key);
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

/**
 * The limit the app's settings ask for: RATE_LIMIT_PER_MINUTE per client for the whole fleet,
 * counted in Redis across hosts with REDIS_URL, else in the fleet's own budget; null when it is
 * off (0, the default).
 */
export function configuredRateLimit(worker: FleetWorker): MiddlewareHandler | null {
  const { RATE_LIMIT_PER_MINUTE: limit, REDIS_URL } = worker.config as Partial<AppConfig>;
  if (!limit) return null;
  const store = REDIS_URL
    ? redisStore(redis(REDIS_URL, worker), worker, limit)
    : fleetStore(worker, limit);
  return rateLimit(worker, limit, store);
}
