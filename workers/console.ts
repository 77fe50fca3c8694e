import { type Fields, LEVELS, writeLine } from "./log.ts";

/**
 * console's own rendering of its arguments (strings as they are, anything else inspected),
 * without printf-style `%s` substitution: node:util's `format` would cost each worker ~5 MB of
 * RSS (measured: a bare `bun` 22.2 MB, with node:util 27.8 MB; with Bun.inspect 23.6 MB).
 */
function format(...args: unknown[]): string {
  return args
    .map((arg) => (typeof arg === "string" ? arg : Bun.inspect(arg, { compact: true })))
    .join(" ");
}

/**
 * Routes `console.*` of this process (the app's own lines, its `console.error(error)`, Bun's
 * serve error handler) through the log writer, so every line has a time, a level, the process
 * name and its pid, and in `json` mode is one JSON object. An Error argument becomes the `err`
 * field (pino's convention) instead of a multi-line stack in the message.
 */
export function bridgeConsole(name: string, bound: Fields = {}): void {
  const to =
    (stream: "stdout" | "stderr", level: number) =>
    (...args: unknown[]): void => {
      const err = args.find((arg) => arg instanceof Error) as Error | undefined;
      const rest = err ? args.filter((arg) => arg !== err) : args;
      const msg = rest.length ? format(...rest) : (err?.message ?? "");
      writeLine(stream, level, name, msg, err ? { err } : {}, bound);
    };
  console.log = to("stdout", LEVELS.info);
  console.info = to("stdout", LEVELS.info);
  console.debug = to("stdout", LEVELS.debug);
  console.warn = to("stderr", LEVELS.warn);
  console.error = to("stderr", LEVELS.error);
}

/**
 * An uncaught exception or unhandled rejection is written as one error line (with `err`) before
 * the process exits 1, as Bun would have without a handler, instead of Bun's own multi-line report.
 */
export function logUncaught(name: string, bound: Fields = {}): void {
  const fatal = (what: string) => (error: unknown) => {
    const err = error instanceof Error ? error : new Error(String(error));
    writeLine("stderr", LEVELS.error, name, `${what}: ${err.message}`, { err }, bound);
    process.exit(1);
  };
  process.on("uncaughtException", fatal("uncaught exception"));
  process.on("unhandledRejection", fatal("unhandled rejection"));
}
