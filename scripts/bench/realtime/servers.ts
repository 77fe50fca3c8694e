/**
 * Processes of the real-time bench: fleets, the one-process reference and redis-server, each in
 * its own process group on 127.0.0.1, all stopped (then killed) when the bench ends.
 */
import { join } from "node:path";
import { groupMembers, Processes } from "../../lib/procs.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");

/** A server the bench started. */
export interface Running {
  name: string;
  port: number;
  pgid: number;
  /** Live pids of its group (primary + workers, or the one process). */
  pids(): number[];
  /** Stops the group: SIGTERM, then SIGKILL after 3 s; resolves when it is gone. */
  stop(): Promise<void>;
}

/** Every group this bench started; its children carry its run id, so leftovers are found. */
const processes = new Processes(crypto.randomUUID());

/** Starts `command` in its own group and waits (15 s at most) for `ready` on its stdout. */
async function start(
  name: string,
  command: string[],
  port: number,
  env: Record<string, string>,
  ready: RegExp,
): Promise<Running> {
  const group = processes.spawnGroup(command, env, ROOT);
  // Shows the server's pub/sub warnings (drops, lost Redis), so a number is never unexplained.
  group.stderr.follow((line) => {
    if (line.includes("warn: pub/sub")) console.error(`    [${name}] ${line}`);
  });
  try {
    await group.stdout.waitFor(ready, 15_000);
  } catch (error) {
    await processes.stop(group, 500);
    throw new Error(`${name} did not start: ${(error as Error).message}\n${group.describe()}`);
  }
  const { pgid } = group;
  return {
    name,
    port,
    pgid,
    pids: () => groupMembers(pgid),
    stop: () => processes.stop(group, 3000),
  };
}

/** A fleet of `workers` HTTP workers serving the bench app. */
export function startFleet(port: number, workers: number, env: Record<string, string> = {}) {
  return start(
    `fleet x${workers}`,
    [process.execPath, "scripts/start.ts"],
    port,
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: String(workers),
      APP_MODULE: "scripts/bench/realtime/app.ts",
      HOOKS_MODULE: "scripts/bench/servers/hooks.ts",
      ...env,
    },
    /bun-fleet: serving/,
  );
}

/** The same app in one process, publishing with Bun's own `server.publish`. */
export function startReference(port: number) {
  const script = join(ROOT, "scripts", "bench", "realtime", "reference.ts");
  return start("reference", [process.execPath, script, String(port)], port, {}, /serving/);
}

/** redis-server without persistence, or null when it is not installed. */
export async function startRedis(port: number): Promise<Running | null> {
  if (!Bun.which("redis-server")) return null;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  return start("redis", ["redis-server", ...args], port, {}, /Ready to accept connections/);
}

/** Stops everything still running (the bench's finally, and on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await processes.stopAll(3000);
}

/**
 * Runs a bench script's `main` and exits: everything it started is stopped when it returns or
 * throws, and on Ctrl-C (exit 130).
 */
export async function runThenExit(main: () => Promise<void>): Promise<never> {
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    await main();
  } finally {
    await stopAll();
  }
  process.exit(0);
}
