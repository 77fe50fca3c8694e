/**
 * The template app without the fleet: `createApp` (app/index.ts) served by one `Bun.serve` on the
 * SQLite file `DATABASE_FILE`, through the template's own database client (app/db). Beside the
 * bare reference (sqlite-bare.ts) and the fleet, it splits what the read route costs between the
 * app (Hono, the data layer, the response headers) and the fleet (its request path, the meter).
 * Prints `bench-sqlite-app: ready pid <pid>` once it listens; stops on SIGTERM/SIGINT.
 */
import { join } from "node:path";
import type { Hono } from "hono";
import { fakeWorker } from "../../../test/helpers/worker.ts";
import type { FleetWorker } from "../../../workers/fleet.ts";

// The template's modules, by path at run time: scripts/ keeps type-checking when app/ is replaced
// (test/unit/layout.test.ts), and this bench is the template's own.
const APP = join(import.meta.dir, "..", "..", "..", "app");
const { closeDb, openDb } = (await import(join(APP, "db", "index.ts"))) as {
  openDb(target: unknown, options: { max: number; applicationName: string }): Promise<unknown>;
  closeDb(deadline: number): Promise<boolean>;
};
const { parseDatabaseUrl } = (await import(join(APP, "db", "url.ts"))) as {
  parseDatabaseUrl(url: string): unknown;
};
const { createApp } = (await import(join(APP, "index.ts"))) as {
  createApp(worker: FleetWorker): Hono;
};

const port = Number(process.env.PORT);
const file = process.env.DATABASE_FILE;
if (!Number.isInteger(port) || port < 1 || port > 65535 || !file) {
  console.error("bench-sqlite-app: PORT (1-65535) and DATABASE_FILE are required");
  process.exit(2);
}

await openDb(parseDatabaseUrl(`sqlite://${file}`), { max: 1, applicationName: "bench" });
// What a worker without TRUSTED_PROXIES answers, without reading a header.
const app = createApp(fakeWorker({ fromTrustedProxy: () => false }));
const server = Bun.serve({
  port,
  hostname: process.env.HOST ?? "127.0.0.1",
  development: false,
  fetch: app.fetch,
});
const stop = () =>
  void server
    .stop(true)
    .then(() => closeDb(Date.now() + 1000))
    .then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
console.log(`bench-sqlite-app: ready pid ${process.pid}`);
