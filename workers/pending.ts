/**
 * Requests awaiting an answer over IPC, each with an id and a deadline: an answer that does not
 * come in time resolves as null (reported, never waited for), and a late one is dropped. Every
 * entry leaves the map when it settles or times out, so the map is bounded by what is in flight.
 */
export class Pending<T> {
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (value: T | null) => void; timer: Timer }>();

  /** Opens a request; `answer` resolves with `settle(id, …)`'s value, or null after `timeoutMs`. */
  open(timeoutMs: number): { id: number; answer: Promise<T | null> } {
    this.#next = (this.#next + 1) % Number.MAX_SAFE_INTEGER;
    const id = this.#next;
    const answer = new Promise<T | null>((resolve) => {
      const timer = setTimeout(() => this.#finish(id, null), timeoutMs);
      this.#waiting.set(id, { resolve, timer });
    });
    return { id, answer };
  }

  /** Delivers the answer to request `id`; false when it is unknown or already timed out. */
  settle(id: number, value: T): boolean {
    return this.#finish(id, value);
  }

  /** Resolves every open request with null (the other side is gone). */
  cancelAll(): void {
    for (const id of [...this.#waiting.keys()]) this.#finish(id, null);
  }

  /** Requests still waiting. */
  get size(): number {
    return this.#waiting.size;
  }

  #finish(id: number, value: T | null): boolean {
    const entry = this.#waiting.get(id);
    if (!entry) return false;
    this.#waiting.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(value);
    return true;
  }
}
