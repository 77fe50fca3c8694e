import type { FleetQuota } from "../fleet.ts";
import { Pending } from "../pending.ts";
import { MAX_HITS_PER_MESSAGE } from "../protocol.ts";
import type { Channel } from "./channel.ts";

/** Longest key `worker.consume` takes (a client address is at most ~40 characters). */
export const MAX_KEY_LENGTH = 512;

/** Budgets a worker keeps leases of at most; past it, expired ones go, then the oldest. */
const MAX_LEASES = 10_000;

type Answer = { granted: number[]; remaining: number[]; resets: number[] };

interface Ask {
  id: string;
  key: string;
  limit: number;
  windowMs: number;
  resolve: (quota: FleetQuota | null) => void;
}

/** What this worker holds of one budget's window. */
interface Lease {
  resetAt: number;
  /** Requests leased to this worker and not yet used. */
  tokens: number;
  /** What the primary said was left (others' leases not counted back). */
  remaining: number;
  /** The primary refused: every request until `resetAt` is refused here without asking. */
  spent: boolean;
}

function checked(key: string, limit: number, windowMs: number): void {
  if (typeof key !== "string" || key === "" || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(`worker.consume: the key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (
    !Number.isSafeInteger(limit) ||
    limit < 1 ||
    !Number.isSafeInteger(windowMs) ||
    windowMs < 1
  ) {
    throw new TypeError("worker.consume: limit and windowMs must be whole numbers >= 1");
  }
}

/**
 * `worker.consume` from a worker's side. A request answered from a lease costs a map lookup;
 * otherwise it waits for the end of this turn of the event loop (`setImmediate`) and goes to
 * the primary in one `take-tokens` message with the others of that turn. No answer within
 * `timeoutMs` (primary busy or gone): those requests get null.
 */
export class QuotaLeases {
  readonly #leases = new Map<string, Lease>();
  #batch: Ask[] = [];
  readonly #pending = new Pending<Answer>();

  constructor(
    private readonly channel: Channel,
    private readonly timeoutMs: number,
  ) {}

  consume(
    key: string,
    limit: number,
    windowMs: number,
  ): FleetQuota | null | Promise<FleetQuota | null> {
    checked(key, limit, windowMs);
    const id = `${limit}/${windowMs} ${key}`;
    const lease = this.#leases.get(id);
    if (lease && lease.resetAt > Date.now()) {
      const local = this.#fromLease(lease);
      if (local) return local;
    }
    if (!process.connected) return null;
    const { promise, resolve } = Promise.withResolvers<FleetQuota | null>();
    if (this.#batch.push({ id, key, limit, windowMs, resolve }) === 1) {
      setImmediate(() => this.#flush());
    }
    return promise;
  }

  /** Delivers the primary's `tokens`. */
  settle(id: number, answer: Answer): void {
    this.#pending.settle(id, answer);
  }

  /** A request answered by what this worker holds, or null when it must ask. */
  #fromLease(lease: Lease): FleetQuota | null {
    if (lease.tokens > 0) {
      lease.tokens -= 1;
      return { allowed: true, remaining: lease.remaining + lease.tokens, resetAt: lease.resetAt };
    }
    return lease.spent ? { allowed: false, remaining: 0, resetAt: lease.resetAt } : null;
  }

  #flush(): void {
    const all = this.#batch;
    this.#batch = [];
    for (let start = 0; start < all.length; start += MAX_HITS_PER_MESSAGE) {
      const asks = all.slice(start, start + MAX_HITS_PER_MESSAGE);
      const { id, answer } = this.#pending.open(this.timeoutMs);
      this.channel.send({
        kind: "take-tokens",
        id,
        keys: asks.map((a) => a.key),
        limits: asks.map((a) => a.limit),
        windows: asks.map((a) => a.windowMs),
      });
      void answer.then((grants) => {
        asks.forEach((ask, i) => {
          const granted = grants?.granted[i];
          const remaining = grants?.remaining[i];
          const resetAt = grants?.resets[i];
          if (granted === undefined || remaining === undefined || resetAt === undefined) {
            ask.resolve(null);
            return;
          }
          ask.resolve(this.#granted(ask.id, granted, remaining, resetAt));
        });
      });
    }
  }

  /** Applies one grant to this worker's lease and answers the request it was for. */
  #granted(id: string, granted: number, remaining: number, resetAt: number): FleetQuota {
    let lease = this.#leases.get(id);
    if (!lease || lease.resetAt !== resetAt) {
      if (lease) this.#leases.delete(id);
      this.#makeRoom();
      lease = { resetAt, tokens: 0, remaining, spent: false };
      this.#leases.set(id, lease);
    }
    if (granted === 0) {
      lease.spent = true;
      // A token leased earlier in this window is still this request's to use.
      return this.#fromLease(lease) as FleetQuota;
    }
    lease.tokens += granted - 1;
    lease.remaining = remaining;
    return { allowed: true, remaining: remaining + lease.tokens, resetAt };
  }

  #makeRoom(): void {
    if (this.#leases.size < MAX_LEASES) return;
    const now = Date.now();
    for (const [id, lease] of this.#leases) if (lease.resetAt <= now) this.#leases.delete(id);
    while (this.#leases.size >= MAX_LEASES) {
      this.#leases.delete(this.#leases.keys().next().value as string);
    }
  }
}
