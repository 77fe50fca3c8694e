import type { FetchApp, FleetHooks, FleetWorker } from "../../fleet.ts";
import { checkHooks, kindOf, shown } from "../../modules.ts";

function isFetchApp(value: unknown): value is FetchApp {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { fetch?: unknown }).fetch === "function"
  );
}

/** A `websocket` that is there must be Bun's handlers object; Bun's own error would be vaguer. */
function checkWebSocket(app: FetchApp, path: string): FetchApp {
  const { websocket } = app as { websocket?: unknown };
  if (websocket === undefined || (typeof websocket === "object" && websocket !== null)) return app;
  throw new Error(
    `APP_MODULE ${shown(path)}: \`websocket\` must be Bun's WebSocket handlers object (e.g. websocket from hono/bun); got ${kindOf(websocket)}`,
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
  if (isFetchApp(exported)) return checkWebSocket(exported, path);
  if (typeof exported !== "function") {
    throw new Error(
      `APP_MODULE ${shown(path)} must \`export default\` a Hono app, { fetch }, { fetch, websocket } or a function (worker) => app; got ${kindOf(exported)}`,
    );
  }
  const app: unknown = await exported(worker);
  if (!isFetchApp(app)) {
    throw new Error(
      `APP_MODULE ${shown(path)}: the default export's factory must return a Hono app or { fetch }; got ${kindOf(app)}`,
    );
  }
  return checkWebSocket(app, path);
}
