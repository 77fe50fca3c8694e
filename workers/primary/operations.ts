import type { Log } from "../log.ts";
import type { Pool, Slot } from "./pool.ts";

/** How a rolling reload ended. */
export type ReloadOutcome = "complete" | "aborted";

/**
 * Rolling operations (reload, recycle, scale) run one at a time through one queue, so two never
 * interleave; a reload asked for while one is queued joins it.
 */
export class Operations {
  #tail: Promise<void> = Promise.resolve();
  #reloadQueued = false;
  readonly #recycling = new Set<Slot>();

  constructor(
    private readonly pool: Pick<Pool, "http" | "extras" | "replace" | "resize">,
    private readonly log: Log,
    private readonly running: () => boolean,
    /** Told how each reload ended (dev mode: live reload and the watcher's messages). */
    private readonly onReload: (outcome: ReloadOutcome) => void = () => {},
  ) {}

  /** Replaces every process, one slot at a time; stops at the first replacement that fails. */
  reload(why: string): void {
    if (this.#reloadQueued) {
      this.log.info(`reload (${why}) joins the reload already queued`);
      return;
    }
    this.#reloadQueued = true;
    this.#enqueue(`reload (${why})`, async () => {
      this.#reloadQueued = false;
      const slots = [...this.pool.http, ...this.pool.extras];
      this.log.info(`reload (${why}): replacing ${slots.length} process(es) one slot at a time`);
      const started = performance.now();
      for (const slot of slots) {
        if (!this.running()) return;
        if (!this.pool.http.includes(slot) && !this.pool.extras.includes(slot)) continue;
        if (!(await this.pool.replace(slot, "reload"))) {
          this.log.error(`reload (${why}) aborted: the old workers keep serving`);
          this.onReload("aborted");
          return;
        }
      }
      this.log.info(`reload (${why}) complete in ${Math.round(performance.now() - started)} ms`);
      this.onReload("complete");
    });
  }

  /** Replaces one slot's process the rolling way (MAX_REQUESTS / MAX_MEMORY_MB). */
  recycle(slot: Slot, reason: string): void {
    if (this.#recycling.has(slot)) return;
    this.#recycling.add(slot);
    this.#enqueue(`recycle slot ${slot.index}`, async () => {
      this.#recycling.delete(slot);
      if (!this.running() || !this.pool.http.includes(slot)) return;
      this.log.info(`recycling slot ${slot.index} (${reason})`);
      await this.pool.replace(slot, "recycle");
    });
  }

  /**
   * Resizes the HTTP workers to `target(current)` (never fewer than 1), computed when the
   * operation runs, so queued relative changes (SIGTTIN three times) add up.
   */
  scale(target: (current: number) => number, why: string): void {
    this.#enqueue(`scale (${why})`, async () => {
      if (!this.running()) return;
      const from = this.pool.http.length;
      const to = Math.max(1, target(from));
      if (to === from) {
        this.log.info(
          `scaling (${why}) changes nothing: already ${from} worker(s), never fewer than 1`,
        );
        return;
      }
      this.log.info(`scaling (${why}): ${from} -> ${to} worker(s)`);
      this.pool.resize(to);
    });
  }

  /** Resolves once every operation queued so far has finished. */
  idle(): Promise<void> {
    return this.#tail;
  }

  #enqueue(what: string, task: () => Promise<void>): void {
    this.#tail = this.#tail.then(task).catch((error: unknown) => {
      this.log.error(`${what} failed: ${(error as Error).stack ?? error}`);
    });
  }
}
