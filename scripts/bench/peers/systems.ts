/**
 * The systems `bun run bench -- --peers` puts side by side: this fleet and what a user would pick
 * instead to run a Hono app on every core, each serving the same bench app (hello and JSON).
 */
import type { ConfigSpec, Kind } from "../servers/index.ts";
import type { PeerName } from "./install.ts";

/** One row of the peers table. */
export interface PeerSystem {
  /** Stable key (`--json`). */
  name: string;
  label: string;
  kind: Kind;
  /** The peer that has to be installed first, if any. */
  needs?: PeerName;
  /** Its own zero-downtime reload, as its users run it; null when it has none. */
  reload: string | null;
  /** What it can do that the others cannot (or cannot do), as run here. */
  notes: string;
}

/** The fleet first (the reference of every ratio), then the peers. */
export const SYSTEMS: PeerSystem[] = [
  {
    name: "fleet",
    label: "this fleet (bun run start)",
    kind: "fleet",
    reload: "bun run reload (rolling)",
    notes:
      "rolling reload, respawn; pub/sub across workers (and hosts with PUBSUB_URL); /metrics, status, dashboard; one binary (bun run build)",
  },
  {
    name: "bun-cluster",
    label: "Bun node:cluster",
    kind: "bun-cluster",
    reload: null,
    notes:
      "a module, not a supervisor: reload, respawn, metrics and pub/sub are yours to write (IPC to the primary only)",
  },
  {
    name: "deno",
    label: "deno serve --parallel",
    kind: "deno",
    needs: "deno",
    reload: null,
    notes:
      "one process, one isolate per job on threads: a crash ends every job; no reload; one binary (deno compile)",
  },
  {
    name: "pm2",
    label: "PM2 7 cluster mode under Bun",
    kind: "pm2",
    needs: "pm2",
    reload: "pm2 reload",
    notes:
      "pm2 reload, respawn, logs, pm2 monit; a daemon outside your process tree; messages to instances through PM2's API, no fan-out to clients",
  },
  {
    name: "node",
    label: "Node cluster + @hono/node-server",
    kind: "node",
    reload: null,
    notes:
      "a module, not a supervisor (as Bun's); the primary accepts and hands connections round-robin",
  },
];

/** A system as a configuration to start with `workers` workers (jobs, instances). */
export function specOf(system: PeerSystem, workers: number, suffix = ""): ConfigSpec {
  return {
    name: `${system.name}-${workers}${suffix}`,
    label: `${system.label} ×${workers}`,
    kind: system.kind,
    workers,
  };
}
