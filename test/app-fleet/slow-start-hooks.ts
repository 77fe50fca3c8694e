/**
 * HOOKS_MODULE for the slow-start tests: the template's own hooks (app/hooks.ts: `setup`
 * migrates, `onStart` opens the database, `onShutdown` closes it), with an `onStart` that first
 * waits SLOW_START_MS (default 1500): a TLS handshake, a pooler's queue, a remote database. The
 * template's job processes are left out (these tests are about the workers).
 */
import * as template from "../../app/hooks.ts";

export const { settings, setup, onShutdown, stats } = template;

const delayMs = Number(process.env.SLOW_START_MS ?? 1500);

export async function onStart(worker: template.AppWorker): Promise<void> {
  await Bun.sleep(delayMs);
  await template.onStart(worker);
}
