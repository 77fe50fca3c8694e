import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { outputOf } from "../../scripts/lib/procs.ts";
import type { ReloadLoadResult } from "../../scripts/load/reload-under-load.ts";
import { ROOT, TEST_APP } from "../helpers/fleet.ts";

const SCRIPT = join(ROOT, "scripts", "load", "reload-under-load.ts");
const TETHER = join(ROOT, "test", "helpers", "tether.ts");

/** Why this machine cannot run the namespace test, or null when it can. */
function unavailable(): string | null {
  if (process.platform !== "linux") return "needs Linux network namespaces";
  if (!Bun.which("wrk")) return "wrk is not installed (apt-get install wrk)";
  if (!Bun.which("ip")) return "iproute2's `ip` is not installed";
  const unshare = process.getuid?.() === 0 ? ["unshare", "-n", "true"] : ["unshare", "-rn", "true"];
  if (Bun.spawnSync(unshare).exitCode !== 0)
    return "cannot create a network namespace (unshare -n)";
  return null;
}

const why = unavailable();
if (why) console.warn(`skipping reload-under-load tests: ${why}`);

/**
 * Runs the script under the tether, as the leader of its own process group: the fleet it starts
 * is in that group (a network namespace does not end its processes), so killing the group, or
 * this test run dying, takes the fleet down with the script.
 */
async function run(migrate: 0 | 1): Promise<ReloadLoadResult> {
  const proc = Bun.spawn(
    [
      process.execPath,
      TETHER,
      process.execPath,
      SCRIPT,
      "--migrate",
      String(migrate),
      "--seconds",
      "4",
      "--reloads",
      "2",
      "--json",
    ],
    // The fleet the script starts serves the runtime's test app, not the template's app/.
    {
      cwd: ROOT,
      env: { ...process.env, ...TEST_APP },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    },
  );
  const killGroup = () => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(killGroup, 40_000);
  const { stdout: out, stderr: err, code } = await outputOf(proc);
  clearTimeout(timer);
  killGroup(); // the script stops its fleet itself; this only matters when it did not
  if (code !== 0) throw new Error(`reload-under-load exited ${code}:\n${err}`);
  return JSON.parse(out) as ReloadLoadResult;
}

describe.skipIf(why !== null)("rolling reload under load (private network namespace)", () => {
  test("with tcp_migrate_req=1: every worker replaced twice, at most one request lost (to a kernel reset)", async () => {
    const result = await run(1);
    expect(result.keepAlive.requests + result.fresh.requests).toBeGreaterThan(1000);
    expect(result.fresh.requests).toBeGreaterThan(100);
    expect(result.pidsAfter).toHaveLength(2);
    expect(result.pidsAfter.some((pid) => result.pidsBefore.includes(pid))).toBe(false);
    expect(result.exitCode).toBe(0);
    // A new connection whose handshake completes at the very instant a retiring listener closes
    // can still be reset by the kernel itself, even with tcp_migrate_req=1 (packet capture:
    // handshake done, request sent, RST; no FIN, and TcpExtTCPAbortOnClose/OnData unchanged, so
    // no process closed it). Measured here: 3 such resets in about 2,300 retirements. So one
    // failed request is tolerated, a reset and nothing else; what the fleet itself could get
    // wrong fails many (without the drain window: 82 keep-alive errors in this same run).
    expect(result.keepAlive.non2xx).toBe(0);
    expect(Object.keys(result.fresh.causes).filter((cause) => cause !== "no response")).toEqual([]);
    expect(result.failed).toBeLessThanOrEqual(1);
  }, 45_000);

  test("with tcp_migrate_req=0: the fleet still reloads and stops cleanly (failures reported)", async () => {
    const result = await run(0);
    console.log(
      `reload under load with tcp_migrate_req=0: ${result.failed} failed of ${result.keepAlive.requests + result.fresh.requests} (${JSON.stringify(result.fresh.causes)})`,
    );
    // Without migration, connections queued on a closing listener are reset: counted, not zero.
    expect(result.pidsAfter).toHaveLength(2);
    expect(result.exitCode).toBe(0);
  }, 45_000);
});
