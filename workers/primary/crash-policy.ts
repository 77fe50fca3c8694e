/** What to do after a crash in one slot. */
export type CrashVerdict =
  | { action: "respawn"; delayMs: number; recent: number }
  | { action: "give-up"; recent: number };

/**
 * Crash history of one slot: exponential backoff by recent crashes, and a crash loop when
 * `limit` crashes fall within `windowMs`. The limit also bounds the backoff (at most
 * `backoffMs * 2^(limit-2)`), so no separate cap is needed.
 */
export class CrashPolicy {
  #crashes: number[] = [];
  #total = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly backoffMs: number,
  ) {}

  /** Every crash of this slot so far. */
  get total(): number {
    return this.#total;
  }

  /** Records a crash at `now` (ms) and says whether to respawn, and after how long. */
  record(now: number): CrashVerdict {
    this.#crashes = this.#crashes.filter((t) => now - t < this.windowMs);
    this.#crashes.push(now);
    this.#total += 1;
    const recent = this.#crashes.length;
    if (recent >= this.limit) return { action: "give-up", recent };
    return { action: "respawn", delayMs: this.backoffMs * 2 ** (recent - 1), recent };
  }
}
