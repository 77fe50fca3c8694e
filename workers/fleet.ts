import type { WebSocketHandler } from "bun";

/**
 * The runtime's public face: what the app sees of the fleet. The runtime hands the app a
 * `FleetWorker`; `app/` imports these types, type-only, and nothing else from `workers/` (the
 * layout test holds it), so all of `app/` is the user's to replace.
 */

/** A value that survives JSON: worker contexts and the setup result cross processes as JSON. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Why the fleet (or one worker) is stopping, as passed to `onShutdown`.
 * `app:<reason>` comes from `worker.requestStop(reason)`.
 */
export type StopReason =
  | "SIGTERM"
  | "SIGINT"
  | "SIGQUIT"
  | "admin-stop"
  | "boot-failure"
  | "crash-loop"
  | "primary-gone"
  | "reload"
  | "recycle"
  | "scale-down"
  | "hung"
  | `app:${string}`;

/**
 * The fleet's logger, named after this process (`worker 0`, `extra jobs#0`): lines have a time,
 * a level, the process and its pid, and with LOG_FORMAT=json are pino-shaped objects whose
 * `fields` follow `msg`. LOG_LEVEL filters them.
 */
export interface FleetLog {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The app's settings (the hooks module's `settings` schema, read from env by the primary at
 * start): `worker.config`. An unset optional setting is absent.
 */
export type AppSettings = { readonly [env: string]: Json | undefined };

/** One worker as the app sees it. */
export interface FleetWorker<
  Context extends Json = Json,
  Setup extends Json = Json,
  Config extends object = AppSettings,
> {
  /** 0-based slot index; a respawned worker keeps its slot's index. */
  readonly index: number;
  readonly pid: number;
  /** `workerContext[index]`, or null when no contexts were configured. */
  readonly context: Context | null;
  /** What the `setup` hook returned (null without one). */
  readonly setup: Setup;
  /** The app's settings, as the hooks module's `settings` schema parsed them. */
  readonly config: Config;
  /** True once this worker has begun to drain (`/readyz` answers 503). */
  readonly draining: boolean;
  /**
   * Aborted when this worker begins to drain, whatever the reason (stop, reload, recycle,
   * scale-down, hang). Long responses (SSE, streams) should end on it so the worker exits at once.
   */
  readonly signal: AbortSignal;
  /** Ask the primary to stop the whole fleet gracefully. Idempotent. */
  requestStop(reason?: string): void;
  /**
   * Sends `data` to every WebSocket subscribed to `topic` (Bun's `ws.subscribe`; `ws.raw` in
   * Hono) on every worker of the fleet, this one included, once each and in order per publisher;
   * with PUBSUB_URL, on other fleets too. Throws on an empty topic, another kind of data, or
   * more than 1 MiB.
   */
  publish(topic: string, data: string | ArrayBuffer | ArrayBufferView): void;
  /**
   * Calls `handler` in this worker for every message published on `topic` (with `publish`)
   * anywhere in the fleet, this worker included, and with PUBSUB_URL on other fleets too: a string
   * as it was published, bytes as a `Uint8Array`. Same guarantees as WebSocket delivery: once
   * each, in order per publisher, dropped (counted, warned) only past PUBSUB_MAX_LAG_BYTES.
   * Returns the unsubscribe. A handler that throws is logged; the others still run. Everything is
   * unsubscribed when this worker begins to drain. Throws on an empty topic.
   */
  subscribe(topic: string, handler: (data: string | Uint8Array, topic: string) => void): () => void;
  /**
   * A Server-Sent Events response carrying every message published on `topics` (see `subscribe`),
   * for `request` (`c.req.raw` in Hono). It writes at once (`options.first`, else a `: open`
   * comment: Bun sends the headers with the first chunk), a `: heartbeat` comment every
   * SSE_HEARTBEAT_MS, and each message as a `message` event (or what `options.event` makes of
   * it). It ends with a `bye` event when this worker begins to drain (`signal`); a client more
   * than SSE_MAX_BUFFERED_BYTES behind is cut (EventSource reconnects). Unsubscribes whenever it
   * ends, the client going away included. Open streams show per worker in `/admin/status`
   * (`sseStreams`) and `/metrics` (`fleet_sse_streams_open`). Throws on bad arguments.
   */
  sse(request: Request, topics: string | readonly string[], options?: SseOptions): Response;
  /**
   * The address of the client that sent `request` (a request this worker's server received):
   * the connection's peer, or, when that peer is one of TRUSTED_PROXIES, the rightmost address
   * of its `Forwarded` / `X-Forwarded-For` that is not a trusted proxy. IPv4 peers read as
   * `1.2.3.4`, IPv6 ones as written. "unknown" for a request this server did not receive.
   */
  clientAddress(request: Request): string;
  /**
   * Whether `request`'s connection comes from one of TRUSTED_PROXIES: then what that proxy adds
   * to the request (a request id, the client's address) may be believed. False at once, without
   * looking at the peer, when TRUSTED_PROXIES is empty.
   */
  fromTrustedProxy(request: Request): boolean;
  /**
   * Takes one request from `key`'s budget of `limit` per `windowMs` for the whole fleet (the
   * window starts with the key's first request): a rate limit that holds across workers. The
   * primary keeps the budgets and leases each worker a share of what is left, so far from the
   * limit this answers at once from the worker's lease (a value), and near it asks the primary
   * (a promise; requests of one event-loop turn share one message). Null when the primary does
   * not answer in time: the caller decides (the template's rate limit lets the request in).
   * Throws on a key longer than 512 characters or a limit/window that is not a whole number >= 1.
   */
  consume(
    key: string,
    limit: number,
    windowMs: number,
  ): FleetQuota | null | Promise<FleetQuota | null>;
  /** This worker's logger (the fleet's format and level). */
  readonly log: FleetLog;
}

/** One Server-Sent Event; `data` may span lines, `event` and `id` may not. */
export interface SseEvent {
  /** Event name (EventSource's `addEventListener(name)`); absent = `message`. */
  event?: string;
  data: string;
  /** The client sends the last one back as `Last-Event-ID` when it reconnects. */
  id?: string;
  /** Reconnection delay the client should use, ms. */
  retry?: number;
}

/** `worker.sse` options. */
export interface SseOptions {
  /** Written at once, before any message (default: the comment `: open`). */
  first?: SseEvent | SseEvent[];
  /**
   * Turns a message into the event sent, or null to skip it. Default: a `message` event whose
   * data is the message (bytes read as UTF-8). A throw skips the message (logged).
   */
  event?: (data: string | Uint8Array, topic: string) => SseEvent | null;
  /** Comment-line heartbeat interval, ms (default SSE_HEARTBEAT_MS). */
  heartbeatMs?: number;
  /** Bytes a client may fall behind before it is cut (default SSE_MAX_BUFFERED_BYTES). */
  maxBufferedBytes?: number;
  /** More response headers (content-type and cache-control are set). */
  headers?: Record<string, string>;
}

/** One request against a fleet-wide budget (`worker.consume`). */
export interface FleetQuota {
  /** False once the budget of this window is spent. */
  allowed: boolean;
  /** Requests left in this window (a lower bound: other workers may hold leased ones). */
  remaining: number;
  /** When this window ends, epoch ms. */
  resetAt: number;
}

/** What an extra (non-HTTP) process's default export receives. */
export interface ExtraContext<Setup extends Json = Json, Config extends object = AppSettings> {
  /** The name it was declared with in the hooks module's `extras`. */
  readonly name: string;
  /** 0-based instance index within its name. */
  readonly index: number;
  readonly setup: Setup;
  /** The app's settings (as `worker.config`). */
  readonly config: Config;
  /** Aborted when the process must stop (fleet stop, reload); return promptly then. */
  readonly signal: AbortSignal;
  /**
   * Once `signal` is aborted: the shutdown deadline (epoch ms) by which the default export must
   * have returned, or the process is forced out. Infinity before.
   */
  readonly deadline: number;
  /** Ask the primary to stop the whole fleet gracefully. */
  requestStop(reason?: string): void;
  /** This process's logger (the fleet's format and level). */
  readonly log: FleetLog;
}

/** A non-HTTP process that runs beside the workers (a queue consumer, a scheduler). */
export interface ExtraProcess {
  name: string;
  /** Module path or file URL (e.g. `import.meta.resolve("../app/jobs/process.ts")`). */
  module: string;
  /** How many instances; default 1. */
  instances?: number;
}

/**
 * Bun's WebSocket handlers as an app hands them over: Bun's own `WebSocketHandler`, or
 * `websocket` from `hono/bun`. `never` socket data: the fleet never reads it, only the app does.
 */
export type AppWebSocket = WebSocketHandler<never>;

/**
 * Anything with a fetch handler: a Hono app, any `{ fetch }`, or Bun's own default-export shape
 * `{ fetch, websocket }`, whose `websocket` the worker passes to `Bun.serve`.
 */
export interface FetchApp {
  /** May answer nothing (undefined) once it has upgraded the request to a WebSocket. */
  fetch(request: Request, env?: unknown): Response | undefined | Promise<Response | undefined>;
  websocket?: AppWebSocket;
}

/** An app module's default export: an app, or a factory that builds one per worker. */
export type AppExport = FetchApp | ((worker: FleetWorker) => FetchApp | Promise<FetchApp>);

/** What the `setup` hook receives (once, before any worker starts). */
export interface SetupContext<Config extends object = AppSettings> {
  /** The app's settings, already checked. */
  readonly config: Config;
  /** HTTP workers the fleet starts with (WORKERS); a reload adds one more at a time. */
  readonly workers: number;
  readonly log: FleetLog;
  /** Stop the start as a configuration error: exit 2 with this one line. */
  invalid(message: string): never;
}

/**
 * The app's own numbers for one worker (the hooks module's `stats`): in `/admin/status` under
 * `app`, and in `/metrics` as `app_<name>{worker}` (a counter when the name ends in `_total`,
 * else a gauge), string values as labels of `app_info{worker}`. Names: a-z, 0-9, _.
 */
export type AppStats = { [name: string]: number | string };

/** The hooks module's named exports; all optional. */
export interface FleetHooks {
  /**
   * An object schema (zod's `z.object`) whose keys are env names: the app's settings, read and
   * checked at start (by the setup process), listed in `--help`, handed to workers as `worker.config`.
   */
  settings?: unknown;
  /**
   * Runs once before any worker spawns, in a short-lived process the primary spawns and waits
   * for (the primary itself never loads the hooks module); its JSON result reaches every worker.
   * A throw stops the start (exit 3): its stack is printed, or only its message when the error
   * has a `code` (an expected failure, such as a migration that does not apply).
   */
  setup?: (fleet: SetupContext) => Json | undefined | Promise<Json | undefined>;
  /**
   * Runs in each worker before it listens (the kernel hands connections only to listening
   * workers): no request, `/readyz` included, reaches the worker until it resolves, so it may
   * open what every request needs (a database pool, caches). It may `publish` and `subscribe`;
   * it cannot see its own server, which does not exist yet. A throw is a boot failure;
   * BOOT_TIMEOUT_MS bounds it. Later failures of what it opened do not make `/readyz` fail.
   */
  onStart?: (worker: FleetWorker) => void | Promise<void>;
  /**
   * Runs in each worker after its server has stopped, bounded by the shutdown deadline
   * (`deadline`, epoch ms: race slow closes against it).
   */
  onShutdown?: (reason: StopReason, worker: FleetWorker, deadline: number) => void | Promise<void>;
  /** Non-HTTP processes the primary runs, respawns and stops with the fleet. */
  extras?: ExtraProcess[];
  /** Called in each worker when the primary collects status or metrics: keep it cheap. */
  stats?: (worker: FleetWorker) => AppStats;
  /**
   * `GET /admin/jobs` (token): called in the worker that receives the request; its JSON is the
   * answer (the app's job queues and schedules, read from where the app keeps them).
   */
  jobs?: (worker: FleetWorker) => Json | Promise<Json>;
}
