/**
 * Lifecycle hooks (HOOKS_MODULE): edit these, or delete the ones you don't need.
 * `setup` runs once in the primary; `onStart` / `onShutdown` run in every worker; `extras` are
 * non-HTTP processes the primary runs beside the workers.
 */
import type { ExtraProcess, FleetWorker, StopReason } from "../workers/fleet.ts";

/** The app's settings (app/config.ts): read and checked by the primary, `worker.config`. */
export { settings } from "./config.ts";

/** Extra processes: started with the fleet, respawned on crash, stopped in the same drain. */
export const extras: ExtraProcess[] = [
  { name: "ticker", module: import.meta.resolve("./jobs/ticker.ts"), instances: 1 },
];

/** Runs once before any worker starts; what it returns (plain JSON) reaches every worker. */
export async function setup() {
  return { startedAt: new Date().toISOString() };
}

/** The setup result as workers see it (`worker.setup`). */
export type Setup = Awaited<ReturnType<typeof setup>>;

/** Runs in each worker once it listens, before it counts as ready. A throw fails the boot. */
export async function onStart(_worker: FleetWorker): Promise<void> {
  // e.g. open a database pool, warm a cache.
}

/** Runs in each worker after its server has stopped, within the shutdown deadline. */
export async function onShutdown(_reason: StopReason, _worker: FleetWorker): Promise<void> {
  // e.g. flush buffers, close the pool.
}
