import type { Check } from "./checks.ts";
import { parseTrustedProxies } from "./client-address.ts";
import {
  bool,
  choice,
  jsonArray,
  matching,
  type Parser,
  path,
  refine,
  text,
  url,
  whole,
} from "./parsers.ts";

/**
 * Every setting, declared once. Parsing (flags + env), validation, `--help`, the README table,
 * the configuration's type, and what children take (`child: true`: its type, the key list the
 * primary hands over, the check the child makes at spawn) are all derived from this table; add
 * a setting here and nowhere else.
 */

/** A setting's declaration: where it comes from, what it accepts, and what it means. */
export interface SettingSpec<T> {
  /** Environment variable name. */
  env: string;
  /** CLI flag without dashes; absent for secrets (a flag would show in `ps`). */
  flag?: string;
  /** A flag that takes no value (`--worker-index-header`); its env still takes 1/0. */
  boolean?: true;
  /** The value when neither flag nor env is given; absent when the default is computed. */
  default?: T;
  /** What `--help` and the README say the default is, when it is not just `default`. */
  defaultText?: string;
  description: string;
  /** Parses the raw string (from a flag or env) into the value. */
  parse: Parser<T>;
  /** Children (workers and extras) take it as resolved (ChildSettings, worker-init.ts). */
  child?: true;
}

/** Characters RFC 6750 allows in a bearer token (what Hono's bearerAuth accepts). */
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

export const SETTINGS = {
  port: {
    env: "PORT",
    child: true,
    flag: "port",
    default: 3000,
    description: "shared port (1-65535; 0 is refused: workers must agree on one port)",
    parse: whole(1, 65535),
  },
  host: {
    env: "HOST",
    child: true,
    flag: "host",
    default: "0.0.0.0",
    description: "bind address",
    parse: text("must be an address to bind"),
  },
  workers: {
    env: "WORKERS",
    flag: "workers",
    defaultText: "available cores; 1 on non-Linux",
    description: "worker count (reusePort balancing is Linux-only)",
    parse: whole(1, 1024),
  },
  contexts: {
    env: "WORKER_CONTEXTS",
    flag: "contexts",
    defaultText: "unset",
    description: "JSON array, entry i goes to worker i; sets WORKERS when that is unset",
    parse: jsonArray,
  },
  contextsFile: {
    env: "WORKER_CONTEXTS_FILE",
    flag: "contexts-file",
    defaultText: "unset",
    description: "same as WORKER_CONTEXTS, read from a JSON file",
    parse: path,
  },
  adminToken: {
    env: "ADMIN_TOKEN",
    child: true,
    defaultText: "random, printed once in the banner",
    description: "bearer token for /admin/* (16+ characters of A-Z a-z 0-9 . _ ~ + / -)",
    parse: matching(
      TOKEN68,
      "may only use A-Z a-z 0-9 . _ ~ + / - (a bearer token)",
      16,
      "must be at least 16 characters",
    ),
  },
  shutdownTimeoutMs: {
    env: "SHUTDOWN_TIMEOUT_MS",
    child: true,
    flag: "shutdown-timeout",
    default: 10_000,
    description: "one deadline for a graceful stop, then force (exit 4)",
    parse: whole(1, 3_600_000),
  },
  pidFile: {
    env: "PID_FILE",
    flag: "pid-file",
    defaultText: "unset",
    description:
      "write the primary's pid here while it runs (kill -HUP $(cat FILE)); refused if it names a live process",
    parse: path,
  },
  appModule: {
    env: "APP_MODULE",
    child: true,
    flag: "app",
    default: "app/index.ts",
    description:
      "module whose default export is a Hono app, { fetch }, { fetch, websocket }, or (worker) => one of those",
    parse: path,
  },
  hooksModule: {
    env: "HOOKS_MODULE",
    child: true,
    flag: "hooks",
    default: "app/hooks.ts",
    description: "module exporting optional setup / onStart / onShutdown hooks",
    parse: path,
  },
  bootTimeoutMs: {
    env: "BOOT_TIMEOUT_MS",
    flag: "boot-timeout",
    default: 30_000,
    description: "a worker not ready by then is a boot failure (exit 3)",
    parse: whole(1, 3_600_000),
  },
  respawnBackoffMs: {
    env: "RESPAWN_BACKOFF_MS",
    flag: "respawn-backoff",
    default: 100,
    description: "delay before respawning a crashed worker; doubles per recent crash in its slot",
    parse: whole(0, 600_000),
  },
  crashLoopLimit: {
    env: "CRASH_LOOP_LIMIT",
    flag: "crash-loop-limit",
    default: 5,
    description: "this many crashes of one slot within the window stop the fleet (exit 5)",
    parse: whole(1, 1000),
  },
  crashLoopWindowMs: {
    env: "CRASH_LOOP_WINDOW_MS",
    flag: "crash-loop-window",
    default: 30_000,
    description: "the crash-loop window",
    parse: whole(1, 86_400_000),
  },
  workerTimeoutMs: {
    env: "WORKER_TIMEOUT_MS",
    flag: "worker-timeout",
    default: 30_000,
    description:
      "a worker whose event loop sends no heartbeat for this long is killed and replaced",
    parse: whole(100, 3_600_000),
  },
  drainWindowMs: {
    env: "DRAIN_WINDOW_MS",
    flag: "drain-window",
    default: 1000,
    description:
      "a worker retiring while siblings serve (reload, recycle, scale-down) answers Connection: close this long before closing its listener",
    parse: whole(0, 600_000),
  },
  maxRequests: {
    env: "MAX_REQUESTS",
    flag: "max-requests",
    default: 0,
    description: "recycle a worker after this many app requests (0 = never)",
    parse: whole(0, 1_000_000_000),
  },
  maxRequestsJitter: {
    env: "MAX_REQUESTS_JITTER",
    flag: "max-requests-jitter",
    default: 0,
    description: "add 0..this to each worker's MAX_REQUESTS, so workers don't recycle together",
    parse: whole(0, 1_000_000_000),
  },
  maxMemoryMb: {
    env: "MAX_MEMORY_MB",
    child: true,
    flag: "max-memory",
    default: 0,
    description: "recycle a worker whose RSS exceeds this many MB (0 = never; else 32 or more)",
    // A Bun worker starts near 30 MB RSS: a lower limit would recycle every worker forever.
    parse: refine(
      whole(0, 1_000_000),
      (mb) => mb === 0 || mb >= 32,
      "must be 0 (off) or at least 32",
    ),
  },
  workerIndexHeader: {
    env: "WORKER_INDEX_HEADER",
    child: true,
    flag: "worker-index-header",
    boolean: true,
    default: false,
    description:
      "stamp x-worker-index on every response (costs ~4% of hello throughput and tells clients which process answered)",
    parse: bool,
  },
  wsMaxPayloadBytes: {
    env: "WS_MAX_PAYLOAD_BYTES",
    child: true,
    flag: "ws-max-payload",
    default: 1024 * 1024,
    description:
      "largest WebSocket message a client may send; a bigger one closes its socket with 1009 (Bun's default is 16 MiB)",
    parse: whole(1, 256 * 1024 * 1024),
  },
  wsIdleTimeoutS: {
    env: "WS_IDLE_TIMEOUT_S",
    child: true,
    flag: "ws-idle-timeout",
    default: 120,
    description:
      "close a WebSocket that sent nothing (not even a pong to Bun's pings) for this many seconds (0 = never; Bun caps it at 960)",
    parse: whole(0, 960),
  },
  wsBackpressureLimitBytes: {
    env: "WS_BACKPRESSURE_LIMIT_BYTES",
    child: true,
    flag: "ws-backpressure-limit",
    default: 1024 * 1024,
    description:
      "bytes queued for one slow WebSocket client past which further sends to it are dropped, so memory stays bounded (Bun's default is 16 MiB)",
    parse: whole(1024, 1024 * 1024 * 1024),
  },
  sseHeartbeatMs: {
    env: "SSE_HEARTBEAT_MS",
    child: true,
    flag: "sse-heartbeat",
    default: 15_000,
    description:
      "worker.sse streams write a comment line this often (and at least twice per IDLE_TIMEOUT_S, which would cut a quiet stream), so proxies and clients see the stream alive",
    parse: whole(10, 3_600_000),
  },
  sseMaxBufferedBytes: {
    env: "SSE_MAX_BUFFERED_BYTES",
    child: true,
    flag: "sse-max-buffered",
    default: 1024 * 1024,
    description:
      "bytes one worker.sse client may fall behind (written, not yet taken); past it the stream is cut and the client reconnects",
    parse: whole(1024, 1024 * 1024 * 1024),
  },
  pubsubUrl: {
    env: "PUBSUB_URL",
    flag: "pubsub-url",
    defaultText: "unset (pub/sub spans this fleet only)",
    description:
      "redis:// or rediss:// URL: worker.publish also reaches fleets on other machines through Redis pub/sub",
    parse: url("redis:", "rediss:"),
  },
  pubsubMaxLagBytes: {
    env: "PUBSUB_MAX_LAG_BYTES",
    flag: "pubsub-max-lag",
    default: 8 * 1024 * 1024,
    description:
      "pub/sub bytes in flight (sent, not yet acknowledged) from one worker, or the primary, to one worker; a worker further behind misses messages (counted, warned)",
    parse: whole(1024, 1024 * 1024 * 1024),
  },
  metrics: {
    env: "METRICS",
    child: true,
    default: true,
    description:
      "count app requests per worker for GET /metrics and /admin/status (0 = off; process and fleet metrics stay)",
    parse: bool,
  },
  metricsPublic: {
    env: "METRICS_PUBLIC",
    child: true,
    flag: "metrics-public",
    boolean: true,
    default: false,
    description: "serve GET /metrics without the admin token (for a scraper on a private network)",
    parse: bool,
  },
  collectTimeoutMs: {
    env: "COLLECT_TIMEOUT_MS",
    child: true,
    flag: "collect-timeout",
    default: 1000,
    description:
      "/admin/status and /metrics wait this long for each process's numbers; one that is late is reported as not answering",
    parse: whole(10, 60_000),
  },
  logFormat: {
    env: "LOG_FORMAT",
    child: true,
    flag: "log-format",
    default: "text",
    description:
      "text (time, level, process, pid, message) or json (one pino-shaped object per line, stdout and stderr)",
    parse: choice("text", "json"),
  },
  logLevel: {
    env: "LOG_LEVEL",
    child: true,
    flag: "log-level",
    default: "info",
    description: "lowest level written: debug, info, warn or error",
    parse: choice("debug", "info", "warn", "error"),
  },
  accessLog: {
    env: "ACCESS_LOG",
    child: true,
    flag: "access-log",
    boolean: true,
    default: false,
    description:
      "one line per app request on stdout: method, path, status, duration, request id, client address, worker",
    parse: bool,
  },
  trustedProxies: {
    env: "TRUSTED_PROXIES",
    child: true,
    flag: "trusted-proxies",
    default: "",
    defaultText: "none",
    description:
      "comma-separated CIDRs of balancers whose FORWARDED_HEADER is believed: the client is the rightmost address there that is not one of them (worker.clientAddress, the access log); any other peer is the client itself, and only a trusted proxy's X-Request-Id is kept (worker.fromTrustedProxy)",
    parse: parseTrustedProxies,
  },
  forwardedHeader: {
    env: "FORWARDED_HEADER",
    child: true,
    flag: "forwarded-header",
    default: "x-forwarded-for",
    description:
      "the header TRUSTED_PROXIES append the client to: x-forwarded-for (HAProxy's option forwardfor, nginx, AWS ALB) or forwarded (RFC 7239); the other one is never read",
    parse: choice("x-forwarded-for", "forwarded"),
  },
  tlsCertFile: {
    env: "TLS_CERT_FILE",
    flag: "tls-cert",
    defaultText: "unset",
    description: "PEM certificate (chain) file: serve HTTPS; needs TLS_KEY_FILE",
    parse: path,
  },
  tlsKeyFile: {
    env: "TLS_KEY_FILE",
    flag: "tls-key",
    defaultText: "unset",
    description: "PEM private key file for TLS_CERT_FILE",
    parse: path,
  },
  idleTimeoutS: {
    env: "IDLE_TIMEOUT_S",
    child: true,
    flag: "idle-timeout",
    default: 10,
    description:
      "close a connection idle this long (Bun's idleTimeout, checked every 4 s; 0 = never, at most 255)",
    parse: whole(0, 255),
  },
  maxBodyBytes: {
    env: "MAX_BODY_BYTES",
    child: true,
    flag: "max-body",
    default: 1_048_576,
    description:
      "largest request body (declared or chunked; methods other than GET/HEAD), any route: a larger one gets 413 JSON before the app reads it",
    // Bun's maxRequestBodySize (the backstop for chunked bodies) is a 32-bit size.
    parse: whole(1, 2 ** 31 - 1),
  },
} satisfies Record<string, SettingSpec<unknown>>;

export type SettingKey = keyof typeof SETTINGS;
type Spec<K extends SettingKey> = (typeof SETTINGS)[K];

/** Every setting's value, typed by its parser. */
export type Settings = {
  [K in SettingKey]: Spec<K> extends { parse: Parser<infer T> } ? T : never;
};

/** Parsed values of the settings that were given (flag or env). */
export type GivenSettings = Partial<Settings>;

/** The settings that declare a default, with it. */
export type Defaults = Pick<
  Settings,
  { [K in SettingKey]: Spec<K> extends { default: unknown } ? K : never }[SettingKey]
>;

/** The settings children take (declared `child: true`). */
export type ChildSettingKey = {
  [K in SettingKey]: Spec<K> extends { child: true } ? K : never;
}[SettingKey];

/** Every declaration with its key, for code that walks them all. */
export const settingEntries = (): [SettingKey, SettingSpec<unknown>][] =>
  Object.entries(SETTINGS) as [SettingKey, SettingSpec<unknown>][];

/** Every declared default, keyed like the settings. */
export function settingDefaults(): Defaults {
  const values: Partial<Record<SettingKey, unknown>> = {};
  for (const [key, spec] of settingEntries()) if ("default" in spec) values[key] = spec.default;
  return values as Defaults; // exactly the keys whose declaration has a default (the type's)
}

const isChildKey = (key: SettingKey): key is ChildSettingKey =>
  (SETTINGS[key] as SettingSpec<unknown>).child === true;

/** The keys of the settings children take, in declaration order. */
export const CHILD_SETTING_KEYS: readonly ChildSettingKey[] = Object.keys(SETTINGS).filter(
  isChildKey as (key: string) => key is ChildSettingKey,
);

/**
 * The check a child makes of a setting it received, derived from the setting's own parser: the
 * value must parse back to itself, as every value the primary resolved does. So a child accepts
 * what the primary can send and nothing else, with the parser's words for what is wrong.
 */
export function settingCheck(spec: SettingSpec<unknown>): Check {
  return (value) => {
    if (value === undefined) return "is missing";
    const parsed = spec.parse(typeof value === "string" ? value : JSON.stringify(value));
    if (!parsed.ok) return parsed.error;
    if (typeof parsed.value !== typeof value) return `must be a ${typeof parsed.value}`;
    const same = JSON.stringify(parsed.value) === JSON.stringify(value);
    return same ? null : `must read as ${JSON.stringify(parsed.value)}`;
  };
}

/** The checks of every child setting, keyed like them. */
export function childSettingChecks(): Record<ChildSettingKey, Check> {
  const checks: Partial<Record<ChildSettingKey, Check>> = {};
  for (const key of CHILD_SETTING_KEYS) checks[key] = settingCheck(SETTINGS[key]);
  return checks as Record<ChildSettingKey, Check>; // one per key of CHILD_SETTING_KEYS
}

const shownDefault = (s: SettingSpec<unknown>) => s.defaultText ?? String(s.default);

/**
 * `--help` text, derived from SETTINGS; `command` is how the user started it. Only `bun run`
 * needs `--` before the flags: the one-file build (`bun-fleet`) takes them as they are.
 */
export function helpText(command = "bun run start"): string {
  const rows = settingEntries().map(([, s]) => {
    const flag = s.flag ? `--${s.flag}${s.boolean ? "" : " <value>"}` : "(env only)";
    return `  ${flag.padEnd(28)} ${s.env.padEnd(22)} ${s.description} [default: ${shownDefault(s)}]`;
  });
  return [
    `Usage: ${command}${command.startsWith("bun run ") ? " --" : ""} [options]`,
    "",
    "Starts a primary that supervises one Bun.serve worker per core on one shared port.",
    "Every option also reads from its environment variable; a flag wins over the env.",
    "",
    ...rows,
    `  ${"-h, --help".padEnd(28)} ${"".padEnd(22)} show this help`,
  ].join("\n");
}

/** The README's configuration table, derived from SETTINGS (a test keeps the README in step). */
export function markdownTable(): string {
  const rows = settingEntries().map(([, s]) => {
    const flag = s.flag ? `\`--${s.flag}\`` : "—";
    return `| \`${s.env}\` | ${flag} | ${shownDefault(s)} | ${s.description} |`;
  });
  return ["| env | flag | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}
