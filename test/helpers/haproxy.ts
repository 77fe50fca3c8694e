import { onTestFinished } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { groupMembers } from "../../scripts/lib/procs.ts";
import { collect, freePort, ROOT, waitFor } from "./fleet.ts";

/** Debian's haproxy (in /usr/sbin, which a non-root PATH may lack), or null. */
export const HAPROXY = Bun.which("haproxy", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });

/** The balancer config as shipped. */
export const HAPROXY_CFG = join(ROOT, "deploy", "haproxy", "haproxy.cfg");

/** A throwaway HAProxy (Debian's `haproxy`, master-worker, in the foreground). */
export interface Balancer {
  port: number;
  url(path: string): string;
  /** The master's pid: USR2 reloads gracefully. */
  pid: number;
  output(): string;
}

/**
 * Runs the shipped config with only its `server` addresses replaced (`servers`: the compose
 * names `app1:3000`, … in order → `host:port`), bound to 127.0.0.1 on a free port. The whole
 * process group is SIGKILLed when the test finishes, even on failure.
 */
export async function startHaproxy(
  servers: string[],
  env: Record<string, string> = {},
): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), "fleet-haproxy-"));
  let config = readFileSync(HAPROXY_CFG, "utf8");
  servers.forEach((address, i) => {
    const name = `app${i + 1}:3000`;
    if (!config.includes(name)) throw new Error(`haproxy.cfg has no server ${name}`);
    config = config.replace(name, address);
  });
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, config);
  const port = await freePort();
  if (!HAPROXY) throw new Error("haproxy is not installed");
  const proc = Bun.spawn([HAPROXY, "-W", "-db", "-f", file], {
    env: {
      PATH: process.env.PATH ?? "",
      HAPROXY_BIND: `127.0.0.1:${port}`,
      HAPROXY_CHECK_INTER: "200ms",
      HAPROXY_HARD_STOP_AFTER: "5s",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  const out = collect(proc.stdout);
  const err = collect(proc.stderr);
  onTestFinished(async () => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await proc.exited;
    await waitFor("haproxy's processes to be gone", () => groupMembers(proc.pid).length === 0);
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(
    () => `haproxy to listen on ${port}: ${out()}${err()}`,
    async () => {
      const probe = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      probe.end();
      return true;
    },
  );
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    pid: proc.pid,
    output: () => out() + err(),
  };
}
