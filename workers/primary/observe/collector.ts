import type { Log } from "../../log.ts";
import type { Collected } from "../../protocol.ts";
import { renderMetrics } from "./metrics.ts";
import type { FleetView, Sample } from "./sample.ts";
import { buildStatus } from "./status.ts";

/**
 * The one mechanism behind /admin/status and /metrics: ask every live process for a snapshot at
 * once, wait at most COLLECT_TIMEOUT_MS (a process that does not answer is reported as such),
 * then render. Concurrent collections share one round of snapshots.
 */
export class Collector {
  #round: Promise<Sample[]> | null = null;

  constructor(
    private readonly view: () => FleetView,
    private readonly log: Log,
    private readonly timeoutMs: number,
  ) {}

  /** Collects `what`; `ok: false` with a reason when it could not be rendered. */
  async collect(what: Collected): Promise<{ ok: boolean; body: string }> {
    try {
      const samples = await this.samples();
      const view = this.view();
      if (what === "status") return { ok: true, body: JSON.stringify(buildStatus(view, samples)) };
      return { ok: true, body: await renderMetrics(view, samples) };
    } catch (error) {
      this.log.error(`collecting ${what} failed: ${(error as Error).stack ?? error}`);
      return { ok: false, body: `collecting ${what} failed: ${(error as Error).message}` };
    }
  }

  /** Every live process with its snapshot (null: no answer in time), from one shared round. */
  samples(): Promise<Sample[]> {
    this.#round ??= this.#ask().finally(() => {
      this.#round = null;
    });
    return this.#round;
  }

  async #ask(): Promise<Sample[]> {
    const pool = this.view().pool;
    if (!pool) return [];
    const live = pool.live;
    const snapshots = await Promise.all(live.map((w) => w.requestSnapshot(this.timeoutMs)));
    return live.map((worker, i) => ({
      worker,
      slot: pool.slotOf(worker),
      snapshot: snapshots[i] ?? null,
    }));
  }
}
