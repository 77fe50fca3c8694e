import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Postgres, startPostgres } from "../../test/helpers/postgres.ts";
import { Processes } from "../lib/procs.ts";

/** What a bench script starts, and where it writes: all gone however the run ends. */
export interface BenchSession {
  processes: Processes;
  /** A scratch folder, removed at exit. */
  tmp: string;
  /** A throwaway PostgreSQL, also stopped on Ctrl-C / SIGTERM (its tether ends it at any exit). */
  postgres(options?: { maxConnections?: number }): Promise<Postgres>;
}

/**
 * The processes and scratch folder of one bench script (`name` names the folder): killed and
 * removed at exit, stopped gracefully on SIGINT / SIGTERM (then exit 130).
 */
export function benchSession(name: string): BenchSession {
  const processes = new Processes(crypto.randomUUID());
  const tmp = mkdtempSync(join(tmpdir(), `bun-fleet-bench-${name}-`));
  const servers: Postgres[] = [];
  process.on("exit", () => {
    processes.killAllSync();
    rmSync(tmp, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      const stopping = [processes.stopAll(), ...servers.map((server) => server.stop())];
      void Promise.allSettled(stopping).finally(() => process.exit(130));
    });
  }
  return {
    processes,
    tmp,
    async postgres(options) {
      const server = await startPostgres(options);
      servers.push(server);
      return server;
    },
  };
}
