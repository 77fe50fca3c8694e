import type { FleetCount } from "../fleet.ts";
import { Pending } from "../pending.ts";
import { MAX_HITS_PER_MESSAGE } from "../protocol.ts";
import type { Channel } from "./channel.ts";

/** Longest key `worker.countHit` takes (a client address is ~40 characters). */
export const MAX_KEY_LENGTH = 512;

type Answer = { counts: number[]; resets: number[] };

interface Hit {
  key: string;
  windowMs: number;
  resolve: (count: FleetCount | null) => void;
}

/**
 * `worker.countHit` from a worker's side: hits wait for the end of this turn of the event loop
 * (`setImmediate`), then go to the primary as one `count-hits` message, so under load many
 * requests share one round trip; each hit gets its own count back, in order. No answer within
 * `timeoutMs` (primary busy or gone): every hit of that batch resolves null.
 */
export class HitCounter {
  #batch: Hit[] = [];
  readonly #pending = new Pending<Answer>();

  constructor(
    private readonly channel: Channel,
    private readonly timeoutMs: number,
  ) {}

  count(key: string, windowMs: number): Promise<FleetCount | null> {
    if (typeof key !== "string" || key === "" || key.length > MAX_KEY_LENGTH) {
      throw new TypeError(`countHit: the key must be 1 to ${MAX_KEY_LENGTH} characters`);
    }
    if (!Number.isInteger(windowMs) || windowMs < 1) {
      throw new TypeError("countHit: windowMs must be a whole number of milliseconds >= 1");
    }
    if (!process.connected) return Promise.resolve(null);
    const { promise, resolve } = Promise.withResolvers<FleetCount | null>();
    if (this.#batch.push({ key, windowMs, resolve }) === 1) setImmediate(() => this.#flush());
    return promise;
  }

  /** Delivers the primary's `hit-counts`. */
  settle(id: number, answer: Answer): void {
    this.#pending.settle(id, answer);
  }

  #flush(): void {
    const all = this.#batch;
    this.#batch = [];
    for (let start = 0; start < all.length; start += MAX_HITS_PER_MESSAGE) {
      const hits = all.slice(start, start + MAX_HITS_PER_MESSAGE);
      const { id, answer } = this.#pending.open(this.timeoutMs);
      this.channel.send({
        kind: "count-hits",
        id,
        keys: hits.map((h) => h.key),
        windows: hits.map((h) => h.windowMs),
      });
      void answer.then((counted) => {
        hits.forEach((hit, i) => {
          const count = counted?.counts[i];
          const resetAt = counted?.resets[i];
          hit.resolve(count === undefined || resetAt === undefined ? null : { count, resetAt });
        });
      });
    }
  }
}
