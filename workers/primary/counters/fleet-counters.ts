/** Keys kept at most; past it, the oldest key is forgotten (its count starts again). */
export const MAX_COUNTER_KEYS = 100_000;

interface Window {
  count: number;
  resetAt: number;
}

/**
 * The fleet's shared fixed-window counters (`worker.countHit`), kept in the primary: the one
 * process every worker already talks to, so a hit is counted once for the whole host whichever
 * worker the kernel handed the connection to. A key's window starts with its first hit (as
 * express-rate-limit's stores and a Redis INCR + PEXPIRE do; a clock-aligned window would let a
 * burst straddling its edge through twice). Bounded: expired windows are swept when the map is
 * full, and then the oldest key goes.
 */
export class FleetCounters {
  readonly #windows = new Map<string, Window>();

  constructor(private readonly maxKeys = MAX_COUNTER_KEYS) {}

  /** One hit on `key` in its window of `windowMs` at `now`: the count so far and the window's end. */
  hit(key: string, windowMs: number, now = Date.now()): Window {
    const id = `${windowMs} ${key}`;
    let window = this.#windows.get(id);
    if (!window || window.resetAt <= now) {
      if (window) this.#windows.delete(id); // re-inserted: the map stays oldest first
      this.#makeRoom(now);
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(id, window);
    }
    window.count += 1;
    return { count: window.count, resetAt: window.resetAt };
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
