import { onTestFinished } from "bun:test";
import { freePort, waitFor } from "./fleet.ts";

/** A throwaway `redis-server` on a free port, without persistence. */
export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILLs it and waits for its exit (Redis lost mid-run). */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  restart(): Promise<void>;
  /** Sends `signal` to it (SIGSTOP: a Redis that keeps its connections and answers nothing). */
  signal(signal: NodeJS.Signals): void;
}

async function spawnRedis(port: number) {
  const proc = Bun.spawn(
    [
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  await waitFor(`redis-server on port ${port}`, async () => {
    const probe = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    probe.end();
    return true;
  });
  return proc;
}

/** Starts redis-server; it is killed when the test finishes, even on failure. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let proc = await spawnRedis(port);
  onTestFinished(async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    restart: async () => {
      proc = await spawnRedis(port);
    },
    signal: (signal) => proc.kill(signal),
  };
}
