/**
 * An extra process (declared in app/hooks.ts `extras`): a scheduled job that runs beside the HTTP
 * workers. Replace the body with a queue consumer, a cache refresher, a cron-like task.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ExtraContext } from "../../workers/fleet.ts";
import type { AppConfig } from "../config.ts";
import type { Setup } from "../hooks.ts";

/** Runs every TICKER_INTERVAL_MS (an app setting, app/config.ts; default one minute). */
export default async function ticker({
  setup,
  config,
  signal,
  log,
}: ExtraContext<Setup, AppConfig>) {
  for (let tick = 1; ; tick++) {
    try {
      await sleep(config.TICKER_INTERVAL_MS, undefined, { signal });
    } catch {
      return; // aborted: the fleet is stopping or reloading
    }
    log.info(`tick ${tick}; fleet up since ${setup.startedAt}`, { tick });
  }
}
