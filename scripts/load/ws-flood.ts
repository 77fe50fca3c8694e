/**
 * A WebSocket flood to clients that never read: how big does the worker get? Starts a 1-worker
 * fleet on a free 127.0.0.1 port serving test/fixtures/flood-app.ts (64 KiB messages as fast as
 * it can, per client, for --seconds), opens --clients raw WebSocket clients that complete the
 * handshake and then never read, and prints the worker's RSS before and at its peak with what
 * Bun did with the sends; then stops the fleet with the clients still connected and prints how
 * long that took.
 *
 *   bun scripts/load/ws-flood.ts                          # WS_BACKPRESSURE_LIMIT_BYTES default
 *   bun scripts/load/ws-flood.ts --limit 16777216         # Bun's own default, for comparison
 *
 * Options: --clients N (default 10), --seconds N (default 2), --limit BYTES, --json.
 */
import type { Socket } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { collect } from "../lib/lines.ts";
import { freePort, waitFor } from "../lib/procs.ts";
import { slowClient } from "./slow-client.ts";

const ROOT = resolve(import.meta.dir, "..", "..");

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "10" },
    seconds: { type: "string", default: "2" },
    limit: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
if (!(clients >= 1 && clients <= 1000) || !(seconds > 0 && seconds <= 60)) {
  console.error("--clients must be 1-1000 and --seconds 0-60");
  process.exit(2);
}

const port = freePort();
const fleet = Bun.spawn([process.execPath, join(ROOT, "scripts", "start.ts")], {
  cwd: ROOT,
  env: {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    WORKERS: "1",
    ADMIN_TOKEN: "ws-flood-token-0123456789",
    APP_MODULE: join(ROOT, "test", "fixtures", "flood-app.ts"),
    HOOKS_MODULE: join(ROOT, "test", "fixtures", "no-extras-hooks.ts"),
    FLOOD_MS: String(seconds * 1000),
    ...(values.limit && { WS_BACKPRESSURE_LIMIT_BYTES: values.limit }),
  },
  stdout: "pipe",
  stderr: "pipe",
});
const [stdout, stderr] = [collect(fleet.stdout), collect(fleet.stderr)];
/** Everything the fleet printed so far (the flood-done lines are on stderr). */
const log = () => stdout() + stderr();
const sockets: Socket[] = [];
try {
  await waitFor(
    () => `the fleet to serve\n${log()}`,
    () => log().includes("bun-fleet: serving"),
    15_000,
  );
  const rss = async () =>
    Number((await (await fetch(`http://127.0.0.1:${port}/`)).text()).split(" ")[1]);
  const before = await rss();
  for (let i = 0; i < clients; i++) sockets.push(await slowClient(port));
  const floods = () => (log().match(/flood done/g)?.length ?? 0) >= clients;
  await waitFor(() => `every flood to finish\n${log()}`, floods, seconds * 1000 + 15_000);
  const done = [...log().matchAll(/sent (\d+), queued (\d+), dropped (\d+), rss (\d+)/g)];
  const sum = (k: number) => done.reduce((total, m) => total + Number(m[k]), 0);
  const started = performance.now();
  fleet.kill("SIGTERM");
  const exitCode = await fleet.exited;
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const result = {
    clients,
    seconds,
    limit: values.limit ?? "default",
    rssBeforeMb: mb(before),
    rssPeakMb: mb(Math.max(...done.map((m) => Number(m[4])))),
    sent: sum(1),
    queued: sum(2),
    dropped: sum(3),
    stopMs: Math.round(performance.now() - started),
    exitCode,
  };
  console.log(values.json ? JSON.stringify(result) : result);
} finally {
  for (const socket of sockets) socket.destroy();
  fleet.kill("SIGKILL");
}
