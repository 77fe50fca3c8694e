/**
 * PM2 7 in cluster mode under Bun, as the bench starts it: writes an ecosystem file (exec_mode
 * cluster, WORKERS instances of pm2-app.ts), runs `pm2 start` with the PM2 it was given
 * (BENCH_PM2, run by Bun with --bun) and an isolated PM2_HOME, waits until every instance
 * listens, prints `bench-pm2: ready daemon <pid> workers <a>, <b>`, and stays up. On SIGTERM or
 * SIGINT it runs `pm2 kill` (daemon and apps gone) and exits.
 *
 * The ecosystem file names the mode because PM2 picks cluster mode for `-i N` only when the
 * interpreter's file name ends in `bun` or `node`, and some Bun installs name it `bun.exe`.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, outputOf, pollUntil } from "../../lib/procs.ts";
import { CPU_BYTES_ENV, RAW_ENV } from "./app.ts";

/** The app's name in PM2 (`pm2 reload bench`). */
export const PM2_APP = "bench";

/** Runs the PM2 CLI (`bun --bun <pm2> …args`) with `home` as PM2_HOME; its exit code and output. */
export async function pm2Cli(
  pm2: string,
  home: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn([process.execPath, "--bun", pm2, ...args], {
    env: { ...process.env, PM2_HOME: home, FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { stdout: out, stderr: err, code } = await outputOf(proc, timeoutMs);
  return { code, output: out + err };
}

/** Pids of the instances that have said they listen (in order, reloads appended). */
export function readyPids(home: string): number[] {
  try {
    const text = readFileSync(join(home, "ready"), "utf8");
    return text.split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The PM2 daemon's pid, from PM2_HOME/pm2.pid; null when absent. */
export function daemonPid(home: string): number | null {
  try {
    return Number(readFileSync(join(home, "pm2.pid"), "utf8").trim()) || null;
  } catch {
    return null;
  }
}

/**
 * `pm2 kill` for every PM2_HOME (pm2-<port>) under `homes` whose daemon is still alive: the
 * safety net after a bench run that was cut short.
 */
export async function killPm2Daemons(
  pm2: string,
  homes: string,
  log: (line: string) => void,
): Promise<void> {
  let names: string[] = [];
  try {
    names = readdirSync(homes).filter((name) => name.startsWith("pm2-"));
  } catch {
    return;
  }
  for (const name of names) {
    const home = join(homes, name);
    const pid = daemonPid(home);
    if (pid === null || !isAlive(pid)) continue;
    log(`PM2 daemon ${pid} (${home}) still running; pm2 kill`);
    await pm2Cli(pm2, home, ["kill"]);
  }
}

async function main(): Promise<void> {
  const pm2 = process.env.BENCH_PM2;
  const home = process.env.PM2_HOME;
  const workers = Number(process.env.WORKERS ?? "1");
  if (!pm2 || !home) {
    console.error("bench-pm2: BENCH_PM2 and PM2_HOME must be set");
    process.exit(2);
  }
  const env: Record<string, string> = {
    PORT: process.env.PORT ?? "",
    HOST: process.env.HOST ?? "127.0.0.1",
    BENCH_READY_FILE: join(home, "ready"),
  };
  for (const name of [CPU_BYTES_ENV, RAW_ENV]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const app = {
    name: PM2_APP,
    script: join(import.meta.dir, "pm2-app.ts"),
    instances: workers,
    exec_mode: "cluster_mode",
    env,
  };
  const ecosystem = join(home, "ecosystem.json");
  writeFileSync(ecosystem, JSON.stringify({ apps: [app] }));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const killed = await pm2Cli(pm2, home, ["kill"]);
    if (killed.code !== 0) console.error(`bench-pm2: pm2 kill failed:\n${killed.output}`);
    process.exit(killed.code === 0 ? 0 : 1);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  const started = await pm2Cli(pm2, home, ["start", ecosystem]);
  if (started.code !== 0) {
    console.error(`bench-pm2: pm2 start failed (${started.code}):\n${started.output}`);
    await stop();
    return;
  }
  if (!(await pollUntil(() => readyPids(home).length >= workers, 30_000, 10))) {
    console.error(`bench-pm2: ${readyPids(home).length} of ${workers} instances ready after 30 s`);
    await stop();
    return;
  }
  console.log(`bench-pm2: ready daemon ${daemonPid(home)} workers ${readyPids(home).join(", ")}`);
  setInterval(() => {}, 1 << 30); // stay up until stopped
}

if (import.meta.main) await main();
