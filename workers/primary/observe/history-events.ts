import type { HistoryEvent, HistoryEventKind } from "./history-json.ts";
import type { FleetView } from "./sample.ts";

/** Markers kept (older ones fall off, as do markers older than the oldest sample). */
export const EVENT_CAPACITY = 256;

/** The counters markers are derived from, as they were at the previous sample. */
interface Counters {
  crashes: number;
  restarts: number;
  recycles: number;
  scaleChanges: number;
  reloadsDone: number;
  reloadStartedAt: number | null;
}

/**
 * The charts' markers, from the primary's own counters compared at each sample: a reload's
 * start and end, recycles, scale changes, crashes, and restarts (new processes in a slot that
 * no reload or recycle explains: a crashed or self-drained worker respawned). Read once a
 * second, so a marker is placed within a second of what it marks; nothing else is hooked.
 */
export class EventMarks {
  /** Oldest first, at most EVENT_CAPACITY. */
  readonly list: HistoryEvent[] = [];
  #before: Counters = {
    crashes: 0,
    restarts: 0,
    recycles: 0,
    scaleChanges: 0,
    reloadsDone: 0,
    reloadStartedAt: null,
  };

  /** Compares `view`'s counters with the previous call's and adds a marker per change at `now`. */
  update(view: FleetView, now: number): void {
    const before = this.#before;
    const totals = view.pool?.totals ?? { restarts: 0, crashes: 0 };
    const ops = view.history;
    const last = ops?.lastReload ?? null;
    const current: Counters = {
      crashes: totals.crashes,
      restarts: totals.restarts,
      recycles: ops?.recycles ?? 0,
      scaleChanges: ops?.scaleChanges ?? 0,
      reloadsDone: (ops?.reloads.complete ?? 0) + (ops?.reloads.aborted ?? 0),
      reloadStartedAt: last?.startedAt ?? null,
    };
    this.#before = current;
    const mark = (kind: HistoryEventKind, text: string) => {
      this.list.push({ t: now, kind, text });
      if (this.list.length > EVENT_CAPACITY) this.list.shift();
    };
    const reloadStarted = last !== null && current.reloadStartedAt !== before.reloadStartedAt;
    const reloadEnded = current.reloadsDone > before.reloadsDone;
    if (reloadStarted) mark("reload", `reload started (${last.why})`);
    if (reloadEnded && last) mark("reload", `reload ${last.outcome}`);
    const recycled = current.recycles - before.recycles;
    if (recycled > 0) mark("recycle", `${recycled} worker(s) recycled`);
    if (current.scaleChanges > before.scaleChanges) {
      mark("scale", `scaled to ${view.pool?.http.length ?? "?"} worker(s)`);
    }
    const crashed = current.crashes - before.crashes;
    if (crashed > 0) mark("crash", `${crashed} process(es) exited unexpectedly`);
    const reloading = reloadStarted || reloadEnded || last?.outcome === "running";
    const restarted = current.restarts - before.restarts;
    if (restarted > 0 && !reloading && recycled === 0) {
      mark("restart", `${restarted} process(es) respawned`);
    }
  }
}
