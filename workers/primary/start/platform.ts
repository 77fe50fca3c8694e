import { readFileSync } from "node:fs";

const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";

/**
 * One line on what `net.ipv4.tcp_migrate_req=0` costs, or null when it is 1 (or not Linux).
 * Closing a reusePort listener resets the connections still queued on it unless the kernel may
 * move them to a sibling listener.
 */
export function tcpMigrateNote(read: (path: string) => string = (p) => readFileSync(p, "utf8")) {
  let value: string;
  try {
    value = read(MIGRATE_REQ).trim();
  } catch {
    return null; // not Linux, or a kernel older than 5.14
  }
  if (value !== "0") return null;
  return (
    "net.ipv4.tcp_migrate_req=0: when a worker retires (reload, recycle, scale-down), connections still queued on its listener are reset instead of moved to a sibling. " +
    "Set it with `sysctl -w net.ipv4.tcp_migrate_req=1` (per network namespace; in Kubernetes: securityContext.sysctls)."
  );
}
