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
    String(p.restarts),
    String(p.crashes),
    mb(p.rssBytes),
    `${(p.heartbeatAgeMs / 1000).toFixed(1)} s`,
  ];
}

/** The fleet line and one row per process, columns aligned. */
export function statusTable(status: FleetStatus): string {
  const f = status.fleet;
  const reload = f.lastReload
    ? `; last reload ${f.lastReload.outcome} at ${f.lastReload.startedAt}`
    : "";
  const head =
    `fleet: primary pid ${f.pid}, ${f.state}, up ${duration(f.uptimeS)}, ${mb(f.rssBytes)}; ` +
    `${f.workers.current}/${f.workers.configured} workers ready; ` +
    `restarts ${f.restarts}, crashes ${f.crashes}${reload}`;
  const rows = [
    ["name", "pid", "state", "uptime", "requests", "restarts", "crashes", "rss", "heartbeat"],
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
  return [head, ...lines].join("\n");
}
