/** Keys kept at most; past it, the oldest key is forgotten (its window starts again). */
export const MAX_COUNTER_KEYS = 100_000;

/** A lease is at most this share of what is left of a window's budget (1/8). */
export const LEASE_SHARE = 8;

interface Window {
  /** Requests granted so far in this window: taken, or leased to a worker. */
  granted: number;
  resetAt: number;
}

/** What the primary hands a worker for one request. */
export interface Grant {
  /** 0: refused (the budget is spent); else this request plus `granted - 1` leased to the worker. */
  granted: number;
  /** Left of the budget after this grant (leases to other workers not counted back). */
  remaining: number;
  resetAt: number;
}

/**
 * The fleet's shared budgets (`worker.consume`), kept in the primary: the one process every
 * worker already talks to, so a request counts once for the whole host whichever worker the
 * kernel handed the connection to. A key's fixed window starts with its first request (as
 * express-rate-limit's stores and a Redis INCR + PEXPIRE do; a clock-aligned window would let a
 * burst straddling its edge through twice). So that a worker need not ask for every request,
 * each grant leases it 1/8 of what is left (at least 1): far from the limit a worker asks
 * rarely, near it once per request, and nothing is ever granted past the limit. Bounded:
 * expired windows are swept when the map is full, and then the oldest key goes.
 */
export class FleetCounters {
  readonly #windows = new Map<string, Window>();

  constructor(private readonly maxKeys = MAX_COUNTER_KEYS) {}

  /** One request on `key` under `limit` per `windowMs` at `now`. */
  take(key: string, limit: number, windowMs: number, now = Date.now()): Grant {
    const id = `${limit}/${windowMs} ${key}`;
    let window = this.#windows.get(id);
    if (!window || window.resetAt <= now) {
      if (window) this.#windows.delete(id); // re-inserted: the map stays oldest first
      this.#makeRoom(now);
      window = { granted: 0, resetAt: now + windowMs };
      this.#windows.set(id, window);
    }
    const left = limit - window.granted;
    const granted = left <= 0 ? 0 : Math.max(1, Math.floor(left / LEASE_SHARE));
    window.granted += granted;
    return { granted, remaining: limit - window.granted, resetAt: window.resetAt };
  }

  get size(): number {
    return this.#windows.size;
  }

  #makeRoom(now: number): void {
    if (this.#windows.size < this.maxKeys) return;
    for (const [id, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(id);
    while (this.#windows.size >= this.maxKeys) {
      const oldest = this.#windows.keys().next().value as string;
      this.#windows.delete(oldest);
    }
  }
}
