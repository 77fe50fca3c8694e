import { afterAll, beforeAll } from "bun:test";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { freePort, ROOT, waitFor } from "./fleet.ts";

/**
 * A throwaway PostgreSQL server for one test file: `initdb` in a temp dir as the `postgres`
 * user, `postgres` on a free port on 127.0.0.1 (tethered to the test run, so even a killed run
 * leaves no server behind), a role `app` with password `pw` owning a database `app`. `stop()`
 * stops it and removes the directory; call it in `afterAll`.
 */
export interface Postgres {
  port: number;
  /** `postgres://app:pw@127.0.0.1:PORT/DB` (the database is created on first use). */
  url(db?: string): Promise<string>;
  /** A superuser client on the `postgres` database (close it yourself). */
  admin(): SQL;
  /** Sessions of `database` other than the asking one, by application_name. */
  sessions(database?: string): Promise<{ application_name: string; pid: number }[]>;
  /** SIGKILLs the server (a database that goes away mid-run). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it answers. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const TETHER = join(ROOT, "test", "helpers", "tether.ts");
const PASSWORD = "pw";

/** Debian's PostgreSQL binaries (the newest installed major version), or null. */
export function postgresBin(): string | null {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], "bin") : null;
}

/** Runs a command as the `postgres` user (initdb and postgres refuse to run as root). */
export function asPostgres(command: string[]): string[] {
  return process.getuid?.() === 0
    ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", ...command]
    : command;
}

/** Servers still up, killed and removed if the test run exits without stopping them. */
const running = new Set<() => void>();
process.on("exit", () => {
  for (const kill of running) kill();
});

export async function startPostgres(options: { maxConnections?: number } = {}): Promise<Postgres> {
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (apt-get install postgresql)");
  const dir = mkdtempSync(join(tmpdir(), "bun-fleet-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const pw = Bun.spawnSync(["id", "-u", "postgres"]);
    const gid = Bun.spawnSync(["id", "-g", "postgres"]);
    chownSync(dir, Number(pw.stdout.toString()), Number(gid.stdout.toString()));
  }
  // initdb once more if it fails: on a busy machine its bootstrap has failed once in a while.
  let failure = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    rmSync(data, { recursive: true, force: true });
    const init = Bun.spawnSync(
      asPostgres([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
      { stdout: "pipe", stderr: "pipe" },
    );
    if (init.exitCode === 0) {
      failure = "";
      break;
    }
    failure = `initdb failed (exit ${init.exitCode}, signal ${init.signalCode}): ${init.stderr}\n${init.stdout}`;
  }
  if (failure) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(failure);
  }
  const port = await freePort();
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  let output = "";
  const killGroup = () => {
    if (proc) {
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };

  const spawn = async () => {
    output = "";
    const server = Bun.spawn(
      [
        process.execPath,
        TETHER,
        ...asPostgres([
          join(bin, "postgres"),
          "-D",
          data,
          "-p",
          String(port),
          "-c",
          "unix_socket_directories=",
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "fsync=off",
          "-c",
          `max_connections=${options.maxConnections ?? 100}`,
        ]),
      ],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe", detached: true },
    );
    proc = server;
    void (async () => {
      for await (const chunk of server.stderr as ReadableStream<Uint8Array>) {
        output += new TextDecoder().decode(chunk);
      }
    })();
    running.add(killGroup);
    running.add(removeDir);
    await waitFor(
      () => `postgres on port ${port}: ${output}`,
      async () => {
        const probe = new SQL({ url: adminUrl, max: 1, connectionTimeout: 1 });
        try {
          await probe`select 1`;
          return true;
        } finally {
          await probe.close();
        }
      },
      15_000,
      100,
    );
  };

  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await spawn();
  const setupClient = new SQL({ url: adminUrl, max: 1 });
  await setupClient.unsafe(`create role app login password '${PASSWORD}'`);
  await setupClient.close();
  const created = new Set<string>();
  let stopped = false;

  const kill = async () => {
    const server = proc;
    if (!server) return;
    killGroup();
    await server.exited;
    running.delete(killGroup);
    proc = null;
    // The tether is gone; wait for every postgres process of the group too (SIGKILL lands a
    // moment later on a busy machine, and a backend could still answer meanwhile).
    await waitFor(`postgres on port ${port} to be gone`, () => {
      const left = Bun.spawnSync(["pgrep", "-g", String(server.pid)])
        .stdout.toString()
        .trim();
      return left === "";
    });
  };

  return {
    port,
    async url(db = "app") {
      if (!created.has(db)) {
        const admin = new SQL({ url: adminUrl, max: 1 });
        await admin.unsafe(`create database "${db}" owner app`);
        await admin.close();
        created.add(db);
      }
      return `postgres://app:${PASSWORD}@127.0.0.1:${port}/${db}`;
    },
    admin: () => new SQL({ url: adminUrl, max: 1 }),
    async sessions(database = "app") {
      const admin = new SQL({ url: adminUrl, max: 1 });
      try {
        const rows = await admin`
          select application_name, pid from pg_stat_activity
          where datname = ${database} and pid <> pg_backend_pid() and backend_type = 'client backend'`;
        return [...rows] as { application_name: string; pid: number }[];
      } finally {
        await admin.close();
      }
    },
    kill,
    async restart() {
      // Killed: its lock file names a pid that may linger as an unreaped zombie, which postgres
      // would take for a live postmaster. Every process of the group is gone, so drop it.
      rmSync(join(data, "postmaster.pid"), { force: true });
      await spawn();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const server = proc;
      if (server) {
        // Fast shutdown of the postmaster (the tether's child), then the group for what is left.
        const postmaster = Bun.spawnSync([
          "pgrep",
          "-g",
          String(server.pid),
          "-x",
          "postgres",
          "-o",
        ]);
        const pid = Number(postmaster.stdout.toString().trim());
        if (pid) process.kill(pid, "SIGINT");
        const exited = await Promise.race([server.exited.then(() => true), Bun.sleep(5000)]);
        if (!exited) await kill();
        else {
          killGroup();
          running.delete(killGroup);
          proc = null;
        }
      }
      removeDir();
      running.delete(removeDir);
    },
  };
}

/**
 * For one test file: a throwaway PostgreSQL started before its tests and stopped after them, and
 * a scratch folder removed with it. `beforeStop` runs first (e.g. closing the app's client).
 */
export function postgresForFile(
  prefix: string,
  options: { maxConnections?: number; beforeStop?: () => Promise<unknown> } = {},
): { tmp: string; pg: () => Postgres } {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  let server: Postgres | undefined;
  beforeAll(async () => {
    const { maxConnections } = options;
    server = await startPostgres(maxConnections === undefined ? {} : { maxConnections });
  }, 30_000);
  afterAll(async () => {
    await options.beforeStop?.();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 15_000);
  return {
    tmp,
    pg: () => {
      if (!server) throw new Error("PostgreSQL has not started (beforeAll)");
      return server;
    },
  };
}
