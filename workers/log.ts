/**
 * The fleet's log writer, in pino's shape without the dependency (pino 10 costs each process
 * ~15 MB of RSS and ~100 ms of import; see workers/README.md, "The log writer"). `json` lines are
 * `{"level":30,"time":<ms>,"pid":…,"name":"worker 0","msg":"…",…fields}`; `text` lines are
 * `<ISO time> <level> [<name> pid <pid>] msg key=value`. Diagnostics go to stderr; the banner,
 * access lines and the app's `console.log` go to stdout.
 */

import { writeSync } from "node:fs";
import type { FleetLog } from "./fleet.ts";

/** Log fields beside the message (pino's merging object). */
export type Fields = Record<string, unknown>;

/** A named line logger: the one logger interface, the same the app gets (`FleetLog`). */
export type Log = FleetLog;

/** pino's numeric levels. */
export const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
export type LevelName = keyof typeof LEVELS;
/** `LOG_FORMAT`. */
export type LogFormat = "text" | "json";

/**
 * Process-wide output settings, like pino's destination: one per process, set once at start
 * (`configureLogs`). Until then `LOG_FORMAT` from env decides, so even a configuration error
 * is written in the format asked for.
 */
const output: { format: LogFormat; level: number } = {
  format: process.env.LOG_FORMAT?.trim() === "json" ? "json" : "text",
  level: LEVELS.info,
};

/** Sets the format and the lowest level written, for every logger of this process. */
export function configureLogs(format: LogFormat, level: LevelName): void {
  output.format = format;
  output.level = LEVELS[level];
}

/** The current format (the banner and the console bridge follow it). */
export const logFormat = (): LogFormat => output.format;

/** pino's `err` serializer: errors become `{ type, message, stack }`, not `{}`. */
function plain(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { type: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return String(value);
  return value;
}

const EMPTY: Fields = Object.freeze({});
const HEAD = new Set(["level", "time", "pid", "name", "msg"]);

/** The fields as `,"k":v…` (head keys dropped); a replacer only when a value needs one. */
function jsonFields(fields: Fields): string {
  if (fields === EMPTY) return "";
  let needsReplacer = false;
  let clash = false;
  for (const key in fields) {
    const value = fields[key];
    if (HEAD.has(key)) clash = true;
    else if (value instanceof Error || typeof value === "bigint") needsReplacer = true;
    else if (typeof value === "object" && value !== null) needsReplacer = true; // nested errors
  }
  let own = fields;
  if (clash) {
    own = {};
    for (const key in fields) if (!HEAD.has(key)) own[key] = fields[key];
  }
  const text = needsReplacer ? JSON.stringify(own, plain) : JSON.stringify(own);
  return text === "{}" ? "" : `,${text.slice(1, -1)}`;
}

/** Serialized bound fields, per bound object (pino's "chindings"): made once per logger. */
const boundJson = new WeakMap<Fields, string>();

function jsonLine(level: number, name: string, msg: string, fields: Fields, bound: Fields): string {
  // Built by hand like pino: head keys first, in pino's order, then bound fields, then fields.
  const head = `{"level":${level},"time":${Date.now()},"pid":${process.pid},"name":${JSON.stringify(name)},"msg":${JSON.stringify(msg)}`;
  try {
    let chindings = boundJson.get(bound);
    if (chindings === undefined) {
      chindings = jsonFields(bound);
      boundJson.set(bound, chindings);
    }
    return `${head}${chindings}${jsonFields(fields)}}`;
  } catch {
    return `${head},"fields":"[unserializable]"}`;
  }
}

const LABEL: Record<number, string> = { 20: "debug", 30: "info ", 40: "warn ", 50: "error" };

function textLine(level: number, name: string, msg: string, fields: Fields): string {
  const extra = Object.entries(fields)
    .map(([key, value]) => {
      // Text is for eyes: a field with no value says nothing (`requestId=null` on an app
      // without the request-id middleware). JSON keeps it.
      if (value === null || value === undefined) return "";
      // A stack stays readable in text: its lines follow, indented by the runtime.
      if (value instanceof Error) return ` ${key}=${value.stack ?? value.message}`;
      if (typeof value === "string") return ` ${key}=${value}`;
      try {
        return ` ${key}=${JSON.stringify(value, plain)}`;
      } catch {
        return ` ${key}=[unserializable]`;
      }
    })
    .join("");
  const time = new Date().toISOString();
  return `${time} ${LABEL[level] ?? level} [${name} pid ${process.pid}] ${msg}${extra}`;
}

/**
 * One line in the current format (at most MAX_LINE_BYTES), without writing it. `bound` fields
 * (`worker: 0`) go on json lines only: in text the process name already says them.
 */
export function formatLine(
  level: number,
  name: string,
  msg: string,
  fields: Fields = EMPTY,
  bound: Fields = EMPTY,
): string {
  const line =
    output.format === "json"
      ? jsonLine(level, name, msg, fields, bound)
      : textLine(level, name, msg, fields);
  return capLine(line, level, name, msg, fields, bound);
}

/** The longest request target a line carries (an access line's path); longer ones end in "…". */
export const MAX_TARGET_CHARS = 1024;
/** The longest line (record) written, in bytes, its newline excluded. */
export const MAX_LINE_BYTES = 8192;

/**
 * A request target as a log line carries it: at most 1 KiB, then an ellipsis, so a client
 * cannot make one request cost the log more than that (`GET /x/<5000 characters>`).
 */
export function capTarget(target: string): string {
  return target.length > MAX_TARGET_CHARS ? `${target.slice(0, MAX_TARGET_CHARS)}…` : target;
}

const encoder = new TextEncoder();

/** The longest start of `text` that is at most `bytes` long in UTF-8 (never half a character). */
function cutBytes(text: string, bytes: number): string {
  if (text.length * 3 <= bytes) return text;
  return text.slice(0, encoder.encodeInto(text, new Uint8Array(bytes)).read);
}

/** `text` as a JSON string of at most `bytes` bytes, cut (with "…") if it must be. */
function jsonStringWithin(text: string, bytes: number): string {
  let budget = bytes;
  for (;;) {
    const cut = cutBytes(text, budget);
    const json = JSON.stringify(cut === text ? text : `${cut}…`);
    if (Buffer.byteLength(json) <= bytes || budget < 16) return json;
    budget = Math.floor(budget * 0.7); // escapes (\n, \u0000) made it longer than the text
  }
}

/**
 * `line` if it fits MAX_LINE_BYTES; else a shorter record of the same event. A json line stays one
 * JSON object (the message and the fields, as one string, are cut; `truncated` says how long the
 * line was), a text line is cut and says how many bytes were dropped.
 */
function capLine(
  line: string,
  level: number,
  name: string,
  msg: string,
  fields: Fields,
  bound: Fields,
): string {
  if (line.length * 3 <= MAX_LINE_BYTES) return line; // the common case: no byte count needed
  const bytes = Buffer.byteLength(line);
  if (bytes <= MAX_LINE_BYTES) return line;
  if (output.format === "text") {
    const kept = cutBytes(line, MAX_LINE_BYTES - 64);
    return `${kept} … [${bytes - Buffer.byteLength(kept)} bytes cut]`;
  }
  const head = `{"level":${level},"time":${Date.now()},"pid":${process.pid},"name":${jsonStringWithin(name, 256)},"msg":${jsonStringWithin(msg, 2048)}`;
  let chindings = "";
  try {
    chindings = jsonFields(bound);
  } catch {}
  if (Buffer.byteLength(chindings) > 512) chindings = "";
  let rest = "";
  try {
    rest = jsonFields(fields).slice(1);
  } catch {
    rest = "[unserializable]";
  }
  const room = MAX_LINE_BYTES - Buffer.byteLength(head) - chindings.length - 64;
  return `${head}${chindings},"truncated":${bytes},"fields":${jsonStringWithin(rest, room)}}`;
}

/** Whether lines at `level` are written (LOG_LEVEL). */
export const enabled = (level: number): boolean => level >= output.level;

/**
 * Writes `text` to fd 1 or 2 synchronously, as pino's default destination does: in Bun,
 * touching `process.stdout`/`process.stderr` costs each process ~7 MB of RSS (measured), a
 * direct write ~0.5 MB. A full non-blocking pipe is retried briefly, then the line is dropped;
 * a closed one (EPIPE: nobody reads) is ignored. Nothing here throws.
 */
export function writeOut(stream: "stdout" | "stderr", text: string): void {
  const fd = stream === "stdout" ? 1 : 2;
  try {
    // The common case: the whole line in one write of the string (no Buffer made).
    const written = writeSync(fd, text);
    if (written !== text.length || written !== Buffer.byteLength(text)) {
      writeRest(fd, Buffer.from(text).subarray(written));
    }
  } catch (error) {
    if ((error as { code?: string }).code === "EAGAIN") writeRest(fd, Buffer.from(text));
  }
}

/** What a first write left (a partial write, or a full non-blocking pipe). */
function writeRest(fd: number, buffer: Buffer): void {
  let rest = buffer;
  for (let attempt = 0; rest.length > 0 && attempt < 100; ) {
    try {
      const written = writeSync(fd, rest);
      rest = rest.subarray(written);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") return;
      attempt += 1;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** Writes one line at `level` to `stream` if the level is enabled. */
export function writeLine(
  stream: "stdout" | "stderr",
  level: number,
  name: string,
  msg: string,
  fields: Fields = EMPTY,
  bound: Fields = EMPTY,
): void {
  if (level < output.level) return;
  writeOut(stream, `${formatLine(level, name, msg, fields, bound)}\n`);
}

/**
 * A logger named `name` (`primary`, `worker 0`, `extra ticker#0`); `bound` fields go on every
 * json line (pino's child bindings, e.g. `{ worker: 0 }`).
 */
export function createLog(name: string, bound: Fields = {}): Log {
  const at =
    (level: number) =>
    (message: string, fields?: Fields): void =>
      writeLine("stderr", level, name, message, fields, bound);
  return {
    debug: at(LEVELS.debug),
    info: at(LEVELS.info),
    warn: at(LEVELS.warn),
    error: at(LEVELS.error),
  };
}
