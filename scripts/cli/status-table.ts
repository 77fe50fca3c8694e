import type { FleetStatus, ProcessStatus } from "../../workers/primary/observe/status.ts";

/** `bun run status` as a table, like `pm2 ls`. */

const mb = (bytes: number | null) => (bytes === null ? "-" : `${(bytes / 1048576).toFixed(1)} MB`);
const count = (n: number | null) => (n === null ? "-" : n.toLocaleString("en"));

/** 42 s, 5 min, 3.2 h, 1.5 d. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

function row(name: string, p: ProcessStatus): string[] {
  return [
    name,
    String(p.pid),
    p.answered ? p.state : `${p.state} (not answering)`,
    duration(p.uptimeS),
    count(p.requests),
    count(p.websockets),
    count(p.sseStreams),
    String(p.restarts),
    String(p.crashes),
    String(p.replacements),
    mb(p.rssBytes),
    `${(p.heartbeatAgeMs / 1000).toFixed(1)} s`,
  ];
}

/** Planned replacements, apart from restarts: `replaced 4 (reload 4)`. */
function replaced(r: FleetStatus["fleet"]["replacements"]): string {
  const why = Object.entries(r).filter(([, n]) => n > 0);
  const total = why.reduce((sum, [, n]) => sum + n, 0);
  return `replaced ${total}${why.length ? ` (${why.map(([k, n]) => `${k} ${n}`).join(", ")})` : ""}`;
}

/** WebSockets open and the pub/sub counters (`fleet_pubsub_*`), on one line. */
function realtime(status: FleetStatus): string {
  const { hub, redis } = status.fleet.pubsub;
  const answered = status.workers.filter((p) => p.websockets !== null);
  const open = answered.reduce((sum, p) => sum + (p.websockets ?? 0), 0);
  const sse = answered.reduce((sum, p) => sum + (p.sseStreams ?? 0), 0);
  const sockets = `websockets ${count(open)}, sse ${count(sse)}${answered.length < status.workers.length ? " (some workers did not answer)" : ""}`;
  const pubsub = `pub/sub: published ${count(hub.published)}, relayed ${count(hub.relayed)}, dropped ${count(hub.dropped)}`;
  const remote = redis
    ? `; redis: sent ${count(redis.sent)}, received ${count(redis.received)}, lost ${count(redis.lost)}, disconnects ${count(redis.disconnects)}`
    : "";
  return `${sockets}; ${pubsub}${remote}`;
}

/** The fleet line, its WebSocket and pub/sub line, and one row per process, columns aligned. */
export function statusTable(status: FleetStatus): string {
  const f = status.fleet;
  const reload = f.lastReload
    ? `; last reload ${f.lastReload.outcome} at ${f.lastReload.startedAt}`
    : "";
  const head =
    `fleet: primary pid ${f.pid}, ${f.state}, up ${duration(f.uptimeS)}, ${mb(f.rssBytes)}; ` +
    `${f.workers.current}/${f.workers.configured} workers ready; ` +
    `restarts ${f.restarts}, crashes ${f.crashes}, ${replaced(f.replacements)}${reload}`;
  const rows = [
    [
      ...["name", "pid", "state", "uptime", "requests", "websockets", "sse"],
      ...["restarts", "crashes", "replaced", "rss", "heartbeat"],
    ],
    ...status.workers.map((p) => row(`worker ${p.index}`, p)),
    ...status.extras.map((p) => row(`extra ${p.name}#${p.index}`, p)),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i >= 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
  return [head, realtime(status), ...lines].join("\n");
}
