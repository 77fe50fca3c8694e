import { relative } from "node:path";
import type { FleetConfig } from "./config.ts";

/** A URL a person can paste: wildcard binds are reached through loopback. */
export function localUrl(host: string, port: number, scheme: "http" | "https" = "http"): string {
  if (host === "0.0.0.0") return `${scheme}://127.0.0.1:${port}`;
  if (host === "::" || host === "[::]") return `${scheme}://[::1]:${port}`;
  return `${scheme}://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

/** The start banner: where it serves, who serves, how to stop it. */
export function banner(
  config: FleetConfig,
  fleet: { primaryPid: number; workerPids: number[]; extras: string[]; bootMs: number },
): string {
  const url = localUrl(config.host, config.port, config.tls ? "https" : "http");
  const token = config.adminTokenGenerated ? config.adminToken : "$ADMIN_TOKEN";
  const lines = [
    `bun-fleet: serving ${url} (bound to ${config.host}:${config.port}) with ${config.workers} worker(s), ready in ${Math.round(fleet.bootMs)} ms`,
    `  primary pid ${fleet.primaryPid}${config.pidFile ? ` (written to ${relative(process.cwd(), config.pidFile)})` : ""}; worker pids ${fleet.workerPids.join(", ")}${fleet.extras.length ? `; extras ${fleet.extras.join(", ")}` : ""}`,
    `  app ${relative(process.cwd(), config.appModule)}; hooks ${relative(process.cwd(), config.hooksModule)}`,
    `  stop: Ctrl-C, kill -TERM ${fleet.primaryPid}, or curl -X POST -H "authorization: Bearer ${token}" ${url}/admin/stop`,
    `  reload: kill -HUP ${fleet.primaryPid}; scale: kill -TTIN / -TTOU ${fleet.primaryPid} (or POST /admin/reload, /admin/scale)`,
  ];
  if (config.dev) {
    lines.push(
      "  dev: watching app/; a save reloads the workers one by one, and open pages reload once it is done",
    );
  }
  if (config.adminTokenGenerated) {
    lines.push("  admin token generated for this run (set ADMIN_TOKEN to choose your own)");
  }
  return lines.join("\n");
}
