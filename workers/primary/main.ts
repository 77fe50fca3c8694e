import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { bridgeConsole, logUncaught } from "../console.ts";
import { ExitCode } from "../exit-codes.ts";
import { configureLogs, createLog, writeOut } from "../log.ts";
import { pathExists, shown } from "../modules.ts";
import { helpText } from "../settings.ts";
import { appHelpText, appSettingRows, appSettingsSchema } from "./config/app-settings.ts";
import { type FleetConfig, resolveConfig } from "./config/config.ts";
import { Primary } from "./primary.ts";
import { interpretSignal, PRIMARY_SIGNALS } from "./signals.ts";
import { localUrl, printBanner } from "./start/banner.ts";
import { claimPidFile, releasePidFile } from "./start/pid-file.ts";
import { tcpMigrateNote } from "./start/platform.ts";
import { runSetupProcess } from "./start/setup-process.ts";
import { removeTokenFile, writeTokenFile } from "./start/token-file.ts";

const log = createLog("primary");
bridgeConsole("primary"); // a stray console line logs like the rest
logUncaught("primary");

/** The project root: where default module paths resolve and `bun run dev` watches app/. */
const ROOT = resolve(import.meta.dir, "..", "..");

/**
 * Lets the primary's signal handlers do nothing but feed `interpretSignal`. Returns their removal,
 * which restores the default actions (`bun run dev` runs the primary again after a failed start).
 */
function installSignals(primary: Primary): () => void {
  let lastSigint = Number.NEGATIVE_INFINITY;
  const installed = PRIMARY_SIGNALS.map((signal) => {
    const handler = () => {
      const now = performance.now();
      const verdict = interpretSignal(signal, {
        stopping: primary.stopping,
        msSinceLastSigint: now - lastSigint,
      });
      if (signal === "SIGINT") lastSigint = now;
      switch (verdict.action) {
        case "stop":
          return primary.requestStop(verdict.reason);
        case "force":
          return primary.force();
        case "reload":
          return primary.reload(signal);
        case "scale":
          return primary.scaleBy(verdict.delta, signal);
        case "ignore":
          return log.info(`${signal} ignored: ${verdict.why}`);
      }
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => {
    for (const remove of installed) remove();
  };
}

/**
 * The primary from argv to exit code: config, setup hook, fleet, stop. `dev` is set by
 * `bun run dev` (watch app/, live reload), never by a setting; `command` is how --help names it.
 */
export async function main(
  argv: string[],
  { dev = false, command }: { dev?: boolean; command?: string } = {},
): Promise<ExitCode> {
  const result = resolveConfig({
    argv,
    env: process.env,
    platform: process.platform,
    cpus: navigator.hardwareConcurrency,
    cwd: process.cwd(),
    root: ROOT,
    readFile: (path) => readFileSync(path, "utf8"),
    exists: pathExists,
    dev,
  });
  if (result.kind === "help") {
    const appHelp = await appSettingsHelp(
      process.env.HOOKS_MODULE || resolve(ROOT, "app/hooks.ts"),
    );
    writeOut(
      "stdout",
      `${helpText(command ?? (dev ? "bun run dev" : "bun run start"))}${appHelp}\n`,
    );
    return ExitCode.ok;
  }
  if (result.kind === "error") {
    log.error(`invalid configuration: ${result.message}`);
    return ExitCode.config;
  }
  const { config, warnings } = result;
  configureLogs(config.logFormat, config.logLevel);
  for (const warning of warnings) log.warn(warning);
  const { pidFile } = config;
  if (pidFile) {
    const problem = claimPidFile(pidFile);
    if (problem) {
      log.error(`invalid configuration: ${problem}`);
      return ExitCode.config;
    }
  }
  let tokenFile: string | null = null;
  if (config.adminTokenGenerated) {
    try {
      const url = localUrl(config.host, config.port, config.tls ? "https" : "http");
      tokenFile = writeTokenFile(config.port, config.adminToken, { pid: process.pid, url });
    } catch (error) {
      log.warn(
        `could not write the admin token file (bun run status needs ADMIN_TOKEN): ${(error as Error).message}`,
      );
    }
  }
  try {
    // The one-file build names itself (`command`) and has no admin CLI scripts to point at.
    return await run(config, tokenFile, command === undefined);
  } finally {
    if (pidFile) releasePidFile(pidFile);
    if (tokenFile) removeTokenFile(config.port, config.adminToken);
  }
}

/** The app settings' part of `--help` (nothing when the hooks module has none or fails to load). */
async function appSettingsHelp(hooksModule: string): Promise<string> {
  try {
    const schema = appSettingsSchema(await import(resolve(hooksModule)), hooksModule);
    return schema ? appHelpText(appSettingRows(schema)) : "";
  } catch (error) {
    return `\n\n(app settings not listed: HOOKS_MODULE ${shown(hooksModule)}: ${(error as Error).message})`;
  }
}

/** The primary with its signal handlers, until it stops. */
async function run(config: FleetConfig, tokenFile: string | null, cli: boolean): Promise<ExitCode> {
  const primary = new Primary(config, log, (running, bootMs) => {
    const workerPids = running.workers.map((w) => w.pid);
    const extras = running.extras.map((w) => `${w.init.extra?.name}#${w.index} pid ${w.pid}`);
    printBanner(config, {
      primaryPid: process.pid,
      workerPids,
      extras,
      bootMs,
      tokenFile,
      cli,
    });
  });
  const removeSignals = installSignals(primary);
  try {
    return await runFleet(config, primary);
  } finally {
    removeSignals();
  }
}

/** Setup (in its own process), then the fleet until it stops. */
async function runFleet(config: FleetConfig, primary: Primary): Promise<ExitCode> {
  // In dev mode retiring workers keep a Connection: close window; the note is for production.
  const migrateNote = config.dev ? null : tcpMigrateNote();
  if (migrateNote) log.info(migrateNote);

  // The hooks module, the app settings and `setup` run in a process of their own: the primary
  // never loads the app's code (start/setup-main.ts).
  const started = await runSetupProcess(
    {
      hooksModule: config.hooksModule,
      workers: config.workers,
      logFormat: config.logFormat,
      logLevel: config.logLevel,
    },
    log,
    primary,
  );
  primary.setupEnded();
  // Stopped meanwhile: the stop's exit code (0, or 4 past its deadline, 130 when forced); no
  // worker starts. A setup that failed on its own keeps its code.
  if (!started.ok)
    return started.killed && primary.stopping ? primary.run(null) : (started.code as ExitCode);
  const { setup, extras, config: appConfig } = started.outcome;
  // Loaded only by `bun run dev`: the watcher is not part of a production primary's footprint.
  const stopWatching = config.dev
    ? (await import("./dev/dev-mode.ts")).startDevMode(primary, config, ROOT, createLog("dev"))
    : null;
  try {
    return await primary.run(setup, extras, appConfig);
  } finally {
    stopWatching?.();
  }
}
