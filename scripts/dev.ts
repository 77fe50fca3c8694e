/**
 * `bun run dev`: the fleet for development. It watches app/ and answers each save with a rolling
 * reload (no request fails; code that fails to load leaves the last good workers serving), and
 * pages served from it reload themselves once the reload is done. Same options as
 * `bun run start` (`bun run dev -- --help`); these development defaults apply unless the env
 * sets them (and a flag still wins over both).
 */
import { join, resolve } from "node:path";
import { ExitCode } from "../workers/exit-codes.ts";
import { createLog } from "../workers/log.ts";
import { describeFiles, nextChange, watchedDirs } from "../workers/primary/dev/dev-mode.ts";
import { main } from "../workers/primary/main.ts";

/** Development defaults, each overridable by its env variable or flag. */
export const DEV_DEFAULTS: Record<string, string> = {
  WORKERS: "2",
  LOG_FORMAT: "text",
  ACCESS_LOG: "1",
  WORKER_INDEX_HEADER: "1",
  // Retiring workers answer Connection: close this long; short, so a save shows up quickly.
  DRAIN_WINDOW_MS: "250",
};

// Contexts set the worker count themselves; a default WORKERS would contradict them.
const argv = process.argv.slice(2);
const contexts =
  process.env.WORKER_CONTEXTS ||
  process.env.WORKER_CONTEXTS_FILE ||
  argv.some((arg) => /^--contexts(-file)?(=|$)/.test(arg));
for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
  if (name === "WORKERS" && contexts) continue;
  if (!process.env[name]) process.env[name] = value;
}

const log = createLog("dev");
const root = join(import.meta.dir, "..");
const appModule = resolve(process.env.APP_MODULE || join(root, "app", "index.ts"));

// A fleet that cannot start (the code does not load, or keeps crashing) waits for the next save
// instead of ending the session; Ctrl-C meanwhile quits (no signal handler is left installed).
let code = await main(argv, { dev: true });
while (code === ExitCode.bootFailure || code === ExitCode.crashLoop) {
  // Watching before saying so: a save right after the message must not be missed.
  const change = nextChange(watchedDirs(root, appModule), log);
  log.error(
    `the fleet could not ${code === ExitCode.bootFailure ? "start" : "keep running"} (exit ${code}; the error is above). Fix it and save to start again, or Ctrl-C.`,
  );
  const files = await change;
  log.info(`${describeFiles(files)} changed: starting again`);
  code = await main(argv, { dev: true });
}
process.exit(code);
