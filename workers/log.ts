/** A named line logger on stderr; stdout is kept for the start banner. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** `[primary] message`, `[worker 0] warn: message`. */
export function createLog(name: string): Log {
  const line = (level: string) => (message: string) => {
    process.stderr.write(`[${name}] ${level}${message}\n`);
  };
  return { info: line(""), warn: line("warn: "), error: line("error: ") };
}
