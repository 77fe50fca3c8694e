import { relative } from "node:path";
import { formatLine, LEVELS, logFormat, writeOut } from "../../log.ts";
import { shown } from "../../modules.ts";
import type { FleetConfig } from "../config/config.ts";

/** A URL a person can paste: wildcard binds are reached through loopback. */
export function localUrl(host: string, port: number, scheme: "http" | "https" = "http"): string {
  if (host === "0.0.0.0") return `${scheme}://127.0.0.1:${port}`;
  if (host === "::" || host === "[::]") return `${scheme}://[::1]:${port}`;
  return `${scheme}://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

/** What the banner tells besides the configuration. */
export interface BannerFacts {
  primaryPid: number;
  workerPids: number[];
  extras: string[];
  bootMs: number;
  /** Where the generated admin token was written for the CLI, if it was. */
  tokenFile?: string | null;
  /**
   * Whether `bun run status` (the admin CLI of a source checkout) is there to name; the one-file
   * build has no CLI scripts in it.
   */
  cli?: boolean;
}

/** The start banner: where it serves, who serves, how to stop it. */
export function banner(config: FleetConfig, fleet: BannerFacts): string {
  const url = localUrl(config.host, config.port, config.tls ? "https" : "http");
  const token = config.adminTokenGenerated ? config.adminToken : "$ADMIN_TOKEN";
  const lines = [
    `bun-fleet: serving ${url} (bound to ${config.host}:${config.port}) with ${config.workers} worker(s), ready in ${Math.round(fleet.bootMs)} ms`,
    `  primary pid ${fleet.primaryPid}${config.pidFile ? ` (written to ${relative(process.cwd(), config.pidFile)})` : ""}; worker pids ${fleet.workerPids.join(", ")}${fleet.extras.length ? `; extras ${fleet.extras.join(", ")}` : ""}`,
    `  app ${shown(config.appModule)}; hooks ${shown(config.hooksModule)}`,
    `  stop: Ctrl-C, kill -TERM ${fleet.primaryPid}, or curl -X POST -H "authorization: Bearer ${token}" ${url}/admin/stop`,
    `  reload: kill -HUP ${fleet.primaryPid}; scale: kill -TTIN / -TTOU ${fleet.primaryPid} (or POST /admin/reload, /admin/scale)`,
  ];
  const cli = fleet.cli ?? true;
  lines.push(
    `  see it: ${cli ? "bun run status; " : ""}${url}/admin (dashboard); GET /admin/status; GET /metrics`,
  );
  if (config.dev) {
    lines.push(
      "  dev: watching app/; a save reloads the workers one by one, and open pages reload once it is done",
    );
  }
  if (config.adminTokenGenerated) {
    const where = fleet.tokenFile
      ? `, kept in ${fleet.tokenFile}${cli ? " for bun run status" : ""}`
      : "";
    lines.push(`  admin token generated for this run${where} (set ADMIN_TOKEN to choose your own)`);
  }
  return lines.join("\n");
}

/**
 * Writes the banner on stdout whatever LOG_LEVEL says (it is how a start is seen, and carries a
 * generated token): in text, one log line per banner line; in json, one object whose
 * `msg` is the first line, with the rest as `banner` and the facts as fields.
 */
export function printBanner(config: FleetConfig, fleet: BannerFacts): void {
  const [first = "", ...rest] = banner(config, fleet).split("\n");
  if (logFormat() === "json") {
    const { primaryPid: _pid, ...facts } = fleet;
    const url = localUrl(config.host, config.port);
    const fields = { url, workers: config.workers, ...facts, banner: rest.map((l) => l.trim()) };
    writeOut("stdout", `${formatLine(LEVELS.info, "primary", first, fields)}\n`);
    return;
  }
  // One write, so a reader that sees the first line sees them all.
  const lines = [first, ...rest].map((line) => formatLine(LEVELS.info, "primary", line));
  writeOut("stdout", `${lines.join("\n")}\n`);
}
