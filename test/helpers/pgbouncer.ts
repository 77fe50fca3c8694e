import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { freePort, ROOT, waitFor } from "./fleet.ts";
import { asPostgres } from "./postgres.ts";

/**
 * A throwaway PgBouncer (Debian's `pgbouncer`, 1.18: no prepared-statement support) in front of
 * a test's PostgreSQL: transaction pooling, on a free port on 127.0.0.1, run as the `postgres`
 * user and tethered to the test run (like test/helpers/postgres.ts), so even a killed run leaves
 * no pooler behind. Every database name maps to the same name on the server; clients log in
 * without a password check (the test server trusts local connections anyway).
 * `stop()` kills it and removes its directory; call it in `afterAll`.
 */
export interface PgBouncer {
  port: number;
  /** `postgres://app:pw@127.0.0.1:PORT/DB` through the pooler, with `query` appended (`?…`). */
  url(db: string, query?: string): string;
  /** Its log so far (stderr). */
  output(): string;
  /** Kills it and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const TETHER = join(ROOT, "test", "helpers", "tether.ts");
const BINARY = "/usr/sbin/pgbouncer";

/** Whether Debian's pgbouncer is installed. */
export const pgbouncerInstalled = () => existsSync(BINARY);

/** Poolers still up, killed if the test run exits without stopping them. */
const running = new Set<() => void>();
process.on("exit", () => {
  for (const kill of running) kill();
});

export interface PgBouncerOptions {
  /** The PostgreSQL server's port on 127.0.0.1. */
  serverPort: number;
  /** Server connections per database/user pair (default 20). */
  poolSize?: number;
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!pgbouncerInstalled())
    throw new Error("PgBouncer is not installed (apt-get install pgbouncer)");
  const dir = mkdtempSync(join(tmpdir(), "bun-fleet-pgbouncer-"));
  const port = await freePort();
  const ini = join(dir, "pgbouncer.ini");
  const users = join(dir, "userlist.txt");
  writeFileSync(users, '"app" ""\n"postgres" ""\n');
  writeFileSync(
    ini,
    [
      "[databases]",
      `* = host=127.0.0.1 port=${options.serverPort}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${users}`,
      "pool_mode = transaction",
      `default_pool_size = ${options.poolSize ?? 20}`,
      "max_client_conn = 1000",
      // What deploy/README.md prescribes: a restarted server is used again within a second.
      "server_login_retry = 1",
      "",
    ].join("\n"),
  );
  if (process.getuid?.() === 0) {
    const uid = Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString());
    const gid = Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString());
    for (const path of [dir, ini, users]) chownSync(path, uid, gid);
  }
  let output = "";
  const proc = Bun.spawn([process.execPath, TETHER, ...asPostgres([BINARY, ini])], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      for await (const chunk of stream as ReadableStream<Uint8Array>) {
        output += new TextDecoder().decode(chunk);
      }
    })();
  }
  const killGroup = () => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  running.add(killGroup);
  running.add(removeDir);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killGroup();
    await proc.exited;
    running.delete(killGroup);
    removeDir();
    running.delete(removeDir);
  };
  const url = (db: string, query = "") => `postgres://app:pw@127.0.0.1:${port}/${db}${query}`;
  try {
    await waitFor(
      () => `pgbouncer on port ${port}: ${output}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`pgbouncer exited: ${output}`);
        const probe = new SQL({
          url: `postgres://postgres@127.0.0.1:${port}/postgres`,
          max: 1,
          connectionTimeout: 1,
          prepare: false,
        });
        try {
          await probe`select 1`;
          return true;
        } catch {
          return false;
        } finally {
          await probe.close();
        }
      },
      15_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url, output: () => output, stop };
}
