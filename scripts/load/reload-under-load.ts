/**
 * Rolling reloads under steady load, counted by wrk: how many requests fail while every worker
 * is replaced. Runs itself inside a private network namespace (`unshare -n`), so it can set
 * net.ipv4.tcp_migrate_req there without touching the host:
 *
 *   bun scripts/load/reload-under-load.ts --migrate 1       # kernel moves queued connections
 *   bun scripts/load/reload-under-load.ts --migrate 0       # kernel resets them
 *
 * Options: --seconds N (load per run, default 8), --reloads N (default 3), --json.
 * Needs root (or unprivileged user namespaces), `ip` (iproute2) and wrk. Load goes to
 * 127.0.0.1 inside the namespace only, bounded by --seconds.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseWrk, WRK_MISSING, type WrkResult } from "../bench/measure/wrk.ts";
import { collect } from "../lib/lines.ts";
import { pollUntil } from "../lib/procs.ts";
import { type FreshResult, freshConnectionLoad } from "./fresh-client.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const INSIDE = "FLEET_LOAD_NETNS";
const PORT = 8080;
const TOKEN = "reload-under-load-token";
const WORKERS = 2;

/** What one run measured. */
export interface ReloadLoadResult {
  migrate: 0 | 1;
  reloads: number;
  /** wrk, 32 keep-alive connections. */
  keepAlive: Pick<WrkResult, "requests" | "errors" | "non2xx">;
  /** One new connection per request (wrk cannot count those failures). */
  fresh: FreshResult;
  failed: number;
  pidsBefore: number[];
  pidsAfter: number[];
  exitCode: number;
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    migrate: { type: "string", default: "1" },
    seconds: { type: "string", default: "8" },
    reloads: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
  },
  strict: true,
});
const migrate = values.migrate === "0" ? 0 : 1;
const seconds = Math.max(3, Number(values.seconds));
const reloads = Math.max(1, Number(values.reloads));

if (process.env[INSIDE] !== "1") {
  // Re-run inside a new network namespace; root gets one directly, others try a user namespace.
  const unshare = process.getuid?.() === 0 ? ["unshare", "-n"] : ["unshare", "-rn"];
  const proc = Bun.spawn(
    [...unshare, process.execPath, import.meta.path, ...process.argv.slice(2)],
    {
      env: { ...process.env, [INSIDE]: "1" },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  process.exit(await proc.exited);
}

function fail(message: string): never {
  process.stderr.write(`reload-under-load: ${message}\n`);
  process.exit(2);
}

if (!Bun.which("wrk")) fail(WRK_MISSING);
if (Bun.spawnSync(["ip", "link", "set", "lo", "up"]).exitCode !== 0) {
  fail("could not bring up loopback in the namespace (is iproute2's `ip` installed?)");
}
writeFileSync("/proc/sys/net/ipv4/tcp_migrate_req", String(migrate));

const fleet = Bun.spawn([process.execPath, join(ROOT, "scripts", "start.ts")], {
  cwd: ROOT,
  env: {
    ...process.env,
    PORT: String(PORT),
    HOST: "127.0.0.1",
    WORKERS: String(WORKERS),
    ADMIN_TOKEN: TOKEN,
  },
  stdio: ["ignore", "pipe", "pipe"],
});
const stdout = collect(fleet.stdout);
const stderr = collect(fleet.stderr);

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  if (await pollUntil(done, timeoutMs)) return;
  fleet.kill("SIGKILL");
  fail(`timed out waiting for ${what}\n${stderr()}`);
}

const pidsOf = (text: string) =>
  (text.match(/worker pids ([\d, ]+)/)?.[1] ?? "").split(", ").map(Number);

function wrk(connections: number) {
  const url = `http://127.0.0.1:${PORT}/`;
  const cmd = ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", url];
  const proc = Bun.spawn(cmd, { stdio: ["ignore", "pipe", "pipe"] });
  const timer = setTimeout(() => proc.kill("SIGKILL"), (seconds + 15) * 1000);
  return new Response(proc.stdout).text().then((text) => {
    clearTimeout(timer);
    return parseWrk(text);
  });
}

await until("the fleet to be ready", () => stdout().includes("bun-fleet: serving"), 15_000);
const pidsBefore = pidsOf(stdout());
const loads = Promise.all([
  wrk(32),
  freshConnectionLoad("127.0.0.1", PORT, { concurrency: 8, durationMs: seconds * 1000 }),
]);
// Spread the reloads over the middle of the run, each after the previous one completed.
const spacing = ((seconds - 2) * 1000) / reloads;
for (let i = 1; i <= reloads; i++) {
  await Bun.sleep(i === 1 ? 1000 : spacing / 2);
  fleet.kill("SIGHUP");
  await until(`reload ${i}`, () => (stderr().match(/complete in/g)?.length ?? 0) >= i, 15_000);
}
const [keepAlive, fresh] = await loads;
// A retiring worker still answers during its drain window: wait until every one has exited.
const retired = () => stderr().match(/worker \d+ \(pid \d+\) retired/g)?.length ?? 0;
await until("the old workers to retire", () => retired() >= reloads * WORKERS, 15_000);
const served = await fetch(`http://127.0.0.1:${PORT}/worker`).then(
  (r) => r.json() as Promise<{ pid: number }>,
);
fleet.kill("SIGTERM");
const exitCode = await fleet.exited;
const pidsAfter = [...stderr().matchAll(/reload: worker \d \(pid (\d+)\) serves/g)]
  .map((m) => Number(m[1]))
  .slice(-WORKERS);

const pick = ({ requests, errors, non2xx }: WrkResult) => ({ requests, errors, non2xx });
const result: ReloadLoadResult = {
  migrate,
  reloads,
  keepAlive: pick(keepAlive),
  fresh,
  failed: keepAlive.errors + keepAlive.non2xx + fresh.failed,
  pidsBefore,
  pidsAfter,
  exitCode,
};
if (!pidsAfter.includes(served.pid))
  fail(`after the reloads, pid ${served.pid} served: not a new worker`);
if (values.json) {
  console.log(JSON.stringify(result));
} else {
  const total = keepAlive.requests + fresh.requests;
  console.log(
    `tcp_migrate_req=${migrate}: ${reloads} rolling reload(s) of ${WORKERS} workers under load, ${seconds} s: ` +
      `${total} requests (keep-alive ${keepAlive.requests}, fresh connections ${fresh.requests}), ` +
      `${result.failed} failed (keep-alive: ${keepAlive.errors} socket errors + ${keepAlive.non2xx} non-2xx; ` +
      `fresh: ${fresh.failed} ${JSON.stringify(fresh.causes)}); fleet exit ${exitCode}`,
  );
}
