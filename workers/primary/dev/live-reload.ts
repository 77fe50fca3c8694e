import type { Log } from "../../log.ts";
import { message, type PrimaryMessage } from "../../protocol.ts";
import type { ChildProcess } from "../worker-process.ts";

/**
 * The primary's side of live reload (`bun run dev`): it counts completed rolling reloads and
 * tells each HTTP worker the count, which its `/__livereload` streams pass to open pages. A page
 * reloads when the count it hears changes. The count moves only once the retired workers have
 * exited, so a page that reloads can no longer reach the old code.
 */
export class LiveReloadHub {
  #generation = 0;

  constructor(private readonly log: Log) {}

  /** A worker became ready: tell it the count, so pages it serves know where they stand. */
  ready(worker: ChildProcess): void {
    if (!worker.init.extra) this.#tell(worker);
  }

  /** A reload completed: once `retiring` have exited, move the count and tell `serving`. */
  async completed(retiring: ChildProcess[], serving: () => ChildProcess[]): Promise<void> {
    await Promise.all(retiring.map((worker) => worker.proc.exited));
    await new Promise((resolve) => setImmediate(resolve)); // the primary logs those exits first
    this.#generation += 1;
    for (const worker of serving()) this.#tell(worker);
  }

  #tell(worker: ChildProcess): void {
    if (!worker.alive) return;
    try {
      worker.proc.send(
        message<PrimaryMessage>({ kind: "live-reload", generation: this.#generation }),
      );
    } catch (error) {
      this.log.warn(`${worker.name}: could not send live-reload (${(error as Error).message})`);
    }
  }
}
