/**
 * Processes of the real-time bench: fleets, the one-process reference and redis-server, each in
 * its own process group on 127.0.0.1, all stopped (then killed) when the bench ends.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { groupMembers } from "../lib/procs.ts";

const ROOT = join(import.meta.dir, "..", "..");

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

const started = new Set<Running>();

/** RSS of one process in bytes (0 if it is gone). */
export function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Sum of the RSS of every process of `server`. */
export const groupRss = (server: Running) =>
  server.pids().reduce((sum, pid) => sum + rssOf(pid), 0);

async function waitForLine(stream: ReadableStream<Uint8Array>, marker: string, what: string) {
  const decoder = new TextDecoder();
  let text = "";
  const reader = stream.getReader();
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not start within 15 s:\n${text}`)),
      15_000,
    );
  });
  const read = (async () => {
    while (!text.includes(marker)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${what} exited before serving:\n${text}`);
      text += decoder.decode(value, { stream: true });
    }
    reader.releaseLock();
  })();
  await Promise.race([read, timeout]).finally(() => clearTimeout(timer));
  void stream.pipeTo(new WritableStream()).catch(() => {}); // keep draining its output
}

/** Shows the server's pub/sub warnings (drops, lost Redis), so a number is never unexplained. */
async function echoWarnings(name: string, stream: ReadableStream<Uint8Array>): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines)
      if (line.includes("warn: pub/sub")) console.log(`    [${name}] ${line}`);
  }
}

/** Starts `command` in its own group and waits for `marker` on its stdout. */
async function start(
  name: string,
  command: string[],
  port: number,
  env: Record<string, string>,
  marker: string,
): Promise<Running> {
  const proc = Bun.spawn(command, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  void echoWarnings(name, proc.stderr);
  const pgid = proc.pid;
  const running: Running = {
    name,
    port,
    pgid,
    pids: () => groupMembers(pgid),
    stop: async () => {
      started.delete(running);
      try {
        process.kill(-pgid, "SIGTERM");
      } catch {
        return;
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {}
      }, 3000);
      await proc.exited;
      while (groupMembers(pgid).length > 0) await Bun.sleep(20);
      clearTimeout(killer);
    },
  };
  started.add(running);
  await waitForLine(proc.stdout, marker, name);
  return running;
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
      APP_MODULE: "scripts/bench/realtime-app.ts",
      HOOKS_MODULE: "scripts/bench/hooks.ts",
      ...env,
    },
    "bun-fleet: serving",
  );
}

/** The same app in one process, publishing with Bun's own `server.publish`. */
export function startReference(port: number) {
  const script = join(ROOT, "scripts", "bench", "realtime-local.ts");
  return start("reference", [process.execPath, script, String(port)], port, {}, "serving");
}

/** redis-server without persistence, or null when it is not installed. */
export async function startRedis(port: number): Promise<Running | null> {
  if (!Bun.which("redis-server")) return null;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  return start("redis", ["redis-server", ...args], port, {}, "Ready to accept connections");
}

/** Stops everything still running (the bench's finally, and on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((server) => server.stop()));
}
