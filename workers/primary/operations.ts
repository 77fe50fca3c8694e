import type { Log } from "../log.ts";
import type { Pool, Slot } from "./pool.ts";

/** The last reload: when, why, and how it ended ("running" until it does). */
export interface ReloadRecord {
  why: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: "running" | ReloadOutcome;
}
/** How a rolling reload ended. */
export type ReloadOutcome = "complete" | "aborted";

/**
 * Rolling operations (reload, recycle, scale) run one at a time through one queue, so two never
 * interleave; a reload asked for while one is queued joins it. Nothing runs before `opened`
 * settles (the fleet is running, or stopping): an operation asked for while the fleet starts
 * waits for it instead of being lost, and one that finds the fleet stopping is dropped, logged.
 */
export class Operations {
  #tail: Promise<void>;
  #reloadQueued = false;
  readonly #recycling = new Set<Slot>();
  /** What ran, for status and metrics. */
  readonly history = {
    reloads: { complete: 0, aborted: 0 },
    recycles: 0,
    scaleChanges: 0,
    lastReload: null as ReloadRecord | null,
  };

  constructor(
    private readonly pool: Pick<Pool, "http" | "extras" | "replace" | "resize">,
    private readonly log: Log,
    private readonly running: () => boolean,
    opened: Promise<void> = Promise.resolve(),
    /** Told how each reload ended (dev mode: live reload and the watcher's messages). */
    private readonly onReload: (outcome: ReloadOutcome) => void = () => {},
  ) {
    this.#tail = opened;
  }

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
      const record: ReloadRecord = {
        why,
        startedAt: Date.now(),
        finishedAt: null,
        outcome: "running",
      };
      this.history.lastReload = record;
      const end = (outcome: ReloadOutcome) => {
        record.outcome = outcome;
        record.finishedAt = Date.now();
        this.history.reloads[outcome] += 1;
        this.onReload(outcome);
      };
      for (const slot of slots) {
        if (!this.running()) return end("aborted");
        if (!this.pool.http.includes(slot) && !this.pool.extras.includes(slot)) continue;
        if (!(await this.pool.replace(slot, "reload"))) {
          this.log.error(`reload (${why}) aborted: the old workers keep serving`);
          return end("aborted");
        }
      }
      this.log.info(`reload (${why}) complete in ${Math.round(performance.now() - started)} ms`);
      end("complete");
    });
  }

  /** Replaces one slot's process the rolling way (MAX_REQUESTS / MAX_MEMORY_MB). */
  recycle(slot: Slot, reason: string): void {
    if (this.#recycling.has(slot)) return;
    this.#recycling.add(slot);
    this.#enqueue(`recycle slot ${slot.index}`, async () => {
      this.#recycling.delete(slot);
      if (!this.pool.http.includes(slot)) return;
      this.log.info(`recycling slot ${slot.index} (${reason})`);
      this.history.recycles += 1;
      await this.pool.replace(slot, "recycle");
    });
  }

  /**
   * Resizes the HTTP workers to `target(current)` (never fewer than 1), computed when the
   * operation runs, so queued relative changes (SIGTTIN three times) add up.
   */
  scale(target: (current: number) => number, why: string): void {
    this.#enqueue(`scale (${why})`, async () => {
      const from = this.pool.http.length;
      const to = Math.max(1, target(from));
      if (to === from) {
        this.log.info(
          `scaling (${why}) changes nothing: already ${from} worker(s), never fewer than 1`,
        );
        return;
      }
      this.log.info(`scaling (${why}): ${from} -> ${to} worker(s)`);
      this.history.scaleChanges += 1;
      this.pool.resize(to);
    });
  }

  /** Resolves once every operation queued so far has finished. */
  idle(): Promise<void> {
    return this.#tail;
  }

  #enqueue(what: string, task: () => Promise<void>): void {
    const runOrDrop = () => {
      if (this.running()) return task();
      this.log.info(`${what} dropped: the fleet is stopping`);
    };
    this.#tail = this.#tail.then(runOrDrop).catch((error: unknown) => {
      this.log.error(`${what} failed: ${(error as Error).stack ?? error}`);
    });
  }
}
