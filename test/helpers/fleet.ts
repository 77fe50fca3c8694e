import { onTestFinished } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { collect } from "../../scripts/lib/lines.ts";
import { freePort, groupMembers, waitFor as poll } from "../../scripts/lib/procs.ts";
import type { FleetStatus } from "../../workers/primary/observe/status.ts";

/** Root of the project under test. */
export const ROOT = join(import.meta.dir, "..", "..");
export const START = join(ROOT, "scripts", "start.ts");
const TETHER = join(ROOT, "test", "helpers", "tether.ts");
export const FIXTURES = join(ROOT, "test", "fixtures");
/**
 * What fleet tests serve unless they say otherwise: the runtime's own test app and its hooks
 * (test/fixtures/base-app/), never the template's app/, which is the user's to replace.
 */
export const TEST_APP = {
  APP_MODULE: join(FIXTURES, "base-app", "index.ts"),
  HOOKS_MODULE: join(FIXTURES, "base-app", "hooks.ts"),
};
/** The SQLite file fleets of the project's app use in this test run (never the project's data/). */
const PROJECT_DB = join(tmpdir(), `bun-fleet-test-${process.pid}.db`);
/**
 * The project's own app (app/index.ts, app/hooks.ts): what tests in test/app-fleet/ serve, with its
 * database in a temporary file (a test's DATABASE_URL overrides it).
 */
export const PROJECT_APP = {
  APP_MODULE: join(ROOT, "app", "index.ts"),
  HOOKS_MODULE: join(ROOT, "app", "hooks.ts"),
  DATABASE_URL: `sqlite://${PROJECT_DB}`,
};
export const TOKEN = "test-admin-token-0123456789";

/** A free port and the poller with a deadline, from the process kit the bench shares. */
export { freePort };

/**
 * How much slower than a quiet machine this one may be now: `TEST_TIME_SCALE` when set, else the
 * load average per core (1 to 5). A test's deadlines (how long to wait for something to happen,
 * never a limit a measurement must meet) are multiplied by it, so a busy machine (a laptop
 * building something else, a shared CI runner) stretches the waits instead of failing the test;
 * on a quiet machine nothing changes, and a test that passes never waits longer.
 */
export function timeScale(): number {
  const set = Number(process.env.TEST_TIME_SCALE);
  if (set > 0) return set;
  const perCore = (loadavg()[0] ?? 0) / Math.max(1, availableParallelism());
  return Math.min(5, Math.max(1, perCore));
}

/** `ms` scaled by timeScale(): a deadline that holds on a busy machine. */
export const scaled = (ms: number): number => Math.round(ms * timeScale());

/**
 * An upper bound for how long something may take: `ms` on a quiet machine, scaled by the load,
 * but below 80% of `alternative` (the deadline it must not wait for, the slow request it must
 * cut), so the assertion keeps its meaning however busy the machine is.
 */
export const within = (ms: number, alternative = Number.POSITIVE_INFINITY): number =>
  Math.min(scaled(ms), alternative * 0.8);

/**
 * Polls `probe` until it returns a truthy value (see scripts/lib/procs.ts); the deadline,
 * `timeoutMs`, is scaled by timeScale().
 */
export function waitFor<T>(
  what: string | (() => string),
  probe: () => T | Promise<T>,
  timeoutMs = 5000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  return poll(what, probe, scaled(timeoutMs), everyMs);
}

/** A fleet started through the real CLI, in its own process group. */
export interface Fleet {
  /** The primary's pid. */
  pid: number;
  /** Sends a signal to the primary. */
  kill(signal: NodeJS.Signals): void;
  /** The process group: the tether (its leader), the primary and every child. */
  pgid: number;
  port: number;
  url(path: string): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the primary's exit code (128 + n when killed by signal n). */
  exited: Promise<number>;
  /** Every live process of the fleet (primary, workers, extras), without the tether. */
  pids(): number[];
}

/**
 * Kills every process of a fleet once the test that started it finishes, even when it failed.
 * Registered per fleet with `onTestFinished`: an `afterEach` in this shared module would only run
 * for the first test file that imports it (Bun evaluates the module once per run).
 */
function killWhenTestFinishes(fleet: Fleet): void {
  onTestFinished(async () => {
    try {
      process.kill(-fleet.pgid, "SIGKILL");
    } catch {
      // the group is already gone
    }
    await fleet.exited;
    await waitFor(
      "the fleet's process group to be gone",
      () => groupMembers(fleet.pgid).length === 0,
      3000,
    );
  });
}

/** Collects a child's output stream as it arrives; call the result for the text so far. */
export { collect };

/** The tether's first line; a fast child can write before it does, so it may stand anywhere. */
const TETHER_LINE = /^\[tether\] pid (\d+)\n/m;

/**
 * Starts `bun scripts/start.ts` with 2 workers on a free port, serving TEST_APP (env and args
 * override; `script` and `cwd` run another entry, e.g. `scripts/dev.ts` in a copy of the project).
 */
export async function startFleet(
  options: {
    env?: Record<string, string>;
    args?: string[];
    port?: number;
    script?: string;
    cwd?: string;
    /** The fleet's command instead of `bun <script>` (e.g. a built `bun-fleet`). */
    command?: string[];
  } = {},
): Promise<Fleet> {
  const port = options.port ?? (await freePort());
  const script = options.script ?? START;
  // The tether leads the group and kills it if this test run dies before the test can.
  const proc = Bun.spawn(
    [
      process.execPath,
      TETHER,
      ...(options.command ?? [process.execPath, script]),
      ...(options.args ?? []),
    ],
    {
      cwd: options.cwd ?? ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        WORKERS: "2",
        ADMIN_TOKEN: TOKEN,
        SHUTDOWN_TIMEOUT_MS: "5000",
        // Tests learn which worker answered from this header; the default (off) is tested on its own.
        WORKER_INDEX_HEADER: "1",
        // A built executable (`command`) serves the app embedded in it.
        ...(options.command ? {} : TEST_APP),
        ...options.env,
      },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    },
  );
  const stderr = collect(proc.stderr);
  const pgid = proc.pid;
  const fleet: Fleet = {
    pid: 0,
    kill: (signal) => process.kill(fleet.pid, signal),
    pgid,
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    stdout: collect(proc.stdout),
    stderr: () => stderr().replace(TETHER_LINE, ""),
    exited: proc.exited,
    pids: () => groupMembers(pgid).filter((pid) => pid !== pgid),
  };
  killWhenTestFinishes(fleet);
  if (options.env?.DATABASE_URL === PROJECT_APP.DATABASE_URL) {
    // The project's database file goes when the test ends (a fleet still holding it open keeps
    // only its inode, gone with the kill above).
    onTestFinished(() => {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${PROJECT_DB}${suffix}`, { force: true });
    });
  }
  const line = await waitFor(
    () => `the tether to report the primary's pid; stderr so far: ${JSON.stringify(stderr())}`,
    () => TETHER_LINE.exec(stderr()),
  );
  fleet.pid = Number(line[1]);
  return fleet;
}

/** Starts a fleet and waits for its banner (every worker ready). */
export async function startReadyFleet(
  options: Parameters<typeof startFleet>[0] = {},
): Promise<Fleet> {
  const fleet = await startFleet(options);
  await waitFor(
    () => `the start banner\n--- stdout\n${fleet.stdout()}\n--- stderr\n${fleet.stderr()}`,
    () => fleet.stdout().includes("bun-fleet: serving"),
    10_000,
  );
  return fleet;
}

/** One request on a fresh connection (so the kernel picks a worker anew). */
export function freshFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("connection", "close");
  return fetch(url, { ...init, headers, keepalive: false });
}

/** Resolves with how long `promise` took to settle, in ms, and its outcome. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await promise;
  return { ms: performance.now() - start, value };
}

/** What the test app's `GET /worker` answers. */
export type WorkerInfo = { index: number; pid: number; context: unknown };

/** Asks /worker on fresh connections until every index in `want` has answered. */
export async function seeWorkers(
  url: string,
  want: number[],
  timeoutMs = 5000,
): Promise<Map<number, WorkerInfo>> {
  const seen = new Map<number, WorkerInfo>();
  await waitFor(
    `workers ${want.join(", ")} to answer /worker`,
    async () => {
      const info = (await (await freshFetch(url)).json()) as WorkerInfo;
      seen.set(info.index, info);
      return want.every((i) => seen.has(i));
    },
    timeoutMs,
  );
  return seen;
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** POST to an admin endpoint with the test token (and a JSON body when given). */
export const admin = (url: string, body?: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** GET /admin/status of the fleet at `url` (a fleet's `url` function) with the test token; 200. */
export async function fleetStatus(url: (path: string) => string): Promise<FleetStatus> {
  const res = await fetch(url("/admin/status"), { headers: { authorization: `Bearer ${TOKEN}` } });
  if (res.status !== 200) throw new Error(`GET /admin/status answered ${res.status}`);
  return (await res.json()) as FleetStatus;
}

/** How many times `pattern` (with the g flag) occurs in `text`. */
export const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

/** Env for a fleet of HTTP workers only (the test app's hooks add a ticker extra). */
export const NO_EXTRAS = { HOOKS_MODULE: join(FIXTURES, "no-extras-hooks.ts") };
