/**
 * An extra process (declared in app/hooks.ts `extras`): a scheduled job that runs beside the HTTP
 * workers. Replace the body with a queue consumer, a cache refresher, a cron-like task.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ExtraContext } from "../../workers/fleet.ts";
import type { Setup } from "../hooks.ts";

/** How often the job runs (TICKER_INTERVAL_MS, default one minute). */
const intervalMs = Number(process.env.TICKER_INTERVAL_MS ?? 60_000);

export default async function ticker({ setup, signal, log }: ExtraContext<Setup>) {
  for (let tick = 1; ; tick++) {
    try {
      await sleep(intervalMs, undefined, { signal });
    } catch {
      return; // aborted: the fleet is stopping or reloading
    }
    log.info(`tick ${tick}; fleet up since ${setup.startedAt}`, { tick });
  }
}
