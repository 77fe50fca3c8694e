import type { FetchApp, FleetHooks, FleetWorker } from "../../app/fleet.ts";
import { checkHooks, kindOf, shown } from "../modules.ts";

function isFetchApp(value: unknown): value is FetchApp {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { fetch?: unknown }).fetch === "function"
  );
}

/** Imports the hooks module and checks its hooks. */
export async function loadHooks(path: string): Promise<FleetHooks> {
  return checkHooks(await import(path), path);
}

/** Imports the app module and builds the app: its default export, or what its factory returns. */
export async function loadApp(path: string, worker: FleetWorker): Promise<FetchApp> {
  const mod: { default?: unknown } = await import(path);
  const exported = mod.default;
  if (isFetchApp(exported)) return exported;
  if (typeof exported !== "function") {
    throw new Error(
      `APP_MODULE ${shown(path)} must \`export default\` a Hono app or a function (worker) => app; got ${kindOf(exported)}`,
    );
  }
  const app: unknown = await exported(worker);
  if (!isFetchApp(app)) {
    throw new Error(
      `APP_MODULE ${shown(path)}: the default export's factory must return a Hono app; got ${kindOf(app)}`,
    );
  }
  return app;
}
