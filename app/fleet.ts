/**
 * What the app sees of the fleet. `workers/` imports these types and hands the app a
 * `FleetWorker`; nothing in `app/` imports `workers/` (the runtime adapts to the app, never
 * the reverse).
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
  | `app:${string}`;

/** One worker as the app sees it. */
export interface FleetWorker<Context extends Json = Json, Setup extends Json = Json> {
  /** 0-based slot index; a respawned worker keeps its slot's index. */
  readonly index: number;
  readonly pid: number;
  /** `workerContext[index]`, or null when no contexts were configured. */
  readonly context: Context | null;
  /** What the primary's `setup` hook returned (null without one). */
  readonly setup: Setup;
  /** True once this worker has begun to drain (`/readyz` answers 503). */
  readonly draining: boolean;
  /** Ask the primary to stop the whole fleet gracefully. Idempotent. */
  requestStop(reason?: string): void;
}

/** Anything with a fetch handler: a Hono app, or any object shaped like one. */
export interface FetchApp {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** An app module's default export: an app, or a factory that builds one per worker. */
export type AppExport = FetchApp | ((worker: FleetWorker) => FetchApp | Promise<FetchApp>);

/** The hooks module's named exports; all optional. */
export interface FleetHooks {
  /** Runs once in the primary before any worker spawns; its JSON result reaches every worker. */
  setup?: () => Json | undefined | Promise<Json | undefined>;
  /** Runs in each worker after it listens and before it reports ready; a throw is a boot failure. */
  onStart?: (worker: FleetWorker) => void | Promise<void>;
  /** Runs in each worker after its server has stopped, bounded by the shutdown deadline. */
  onShutdown?: (reason: StopReason, worker: FleetWorker) => void | Promise<void>;
}
