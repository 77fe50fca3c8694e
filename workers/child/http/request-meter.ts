import type { Server } from "bun";
import type { FetchApp } from "../../fleet.ts";
import { capTarget, type Fields, LEVELS, logFormat, writeLine } from "../../log.ts";
import { type ChildSnapshot, DURATION_BUCKETS, type StatusCount } from "../../snapshot.ts";

/** Methods counted by name; anything else is "OTHER", so clients cannot grow the label set. */
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];
const METHOD_INDEX: Record<string, number> = Object.fromEntries(METHODS.map((m, i) => [m, i]));
const OTHER = METHODS.length;

/** Where access lines go: this worker's log name and bound fields (`{ worker: 0 }`). */
export interface AccessLog {
  name: string;
  bound: Fields;
}

/** What a meter counts for, and what it does when MAX_REQUESTS is reached. */
export interface MeterOptions {
  /**
   * METRICS: the counts are reported (status, /metrics); off, only the total and in-flight are
   * kept, and with no access log either the clock is not read at all.
   */
  metered: boolean;
  /** ACCESS_LOG: one line per app request; null for none. */
  access: AccessLog | null;
  /** MAX_REQUESTS (0 = none): `onLimit` is called once, when that many requests were answered. */
  limit?: number;
  onLimit?: () => void;
}

/** The path of a request URL without its query (which may carry secrets). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

/** Bucket bounds in milliseconds, as performance.now() measures. */
const BOUNDS_MS = Float64Array.from(DURATION_BUCKETS, (s) => s * 1000);
const LAST_BUCKET = BOUNDS_MS.length;

/**
 * Counts app requests in plain numbers (by method and status, a duration histogram, in flight)
 * and writes the access line. No header, no allocation per request: the fleet's own routes
 * never pass through here. Per request the meter reads the clock twice (~35 ns each, most of
 * what it costs) and increments a few numbers; everything else waits for snapshot().
 */
export class RequestMeter {
  requests = 0;
  inFlight = 0;
  /** Milliseconds; snapshot() reports seconds. */
  #durationMs = 0;
  /** Key: status * 16 + method index. Bounded: ~500 statuses x 10 methods. */
  readonly #counts = new Map<number, number>();
  readonly #buckets = new Float64Array(LAST_BUCKET + 1);

  private readonly metered: boolean;
  private readonly access: AccessLog | null;
  /** Metrics or the access log need each request's duration; MAX_REQUESTS alone does not. */
  readonly #timed: boolean;
  private readonly limit: number;
  private readonly onLimit: () => void;

  /** One count serves metrics, the access log and recycling (MAX_REQUESTS). */
  constructor({ metered, access, limit = 0, onLimit = () => {} }: MeterOptions) {
    this.metered = metered;
    this.access = access;
    this.#timed = metered || access !== null;
    this.limit = limit;
    this.onLimit = onLimit;
  }

  /**
   * The app's fetch with every request counted (and logged with ACCESS_LOG); the pipeline
   * (serve.ts) keeps the app's `websocket` handlers. A request the app upgraded to a WebSocket
   * answers nothing and counts as 101; a throw (sync or async) counts as 500, which Bun's error
   * handler answers. `then` is applied to every response after it is counted (the
   * pipeline's stamp), so an async response costs one continuation, not two.
   */
  wrap(
    app: FetchApp,
    then: (response: Response | undefined) => Response | undefined = (response) => response,
  ): FetchApp["fetch"] {
    return (request: Request, server?: unknown) => {
      const started = this.#timed ? performance.now() : 0;
      this.inFlight += 1;
      let res: ReturnType<FetchApp["fetch"]>;
      try {
        res = app.fetch(request, server as Server<undefined>);
      } catch (error) {
        this.#done(request, null, started);
        throw error;
      }
      if (res instanceof Promise) {
        return res.then(
          (response) => {
            this.#done(request, response, started);
            return then(response);
          },
          (error: unknown) => {
            this.#done(request, null, started);
            throw error;
          },
        );
      }
      this.#done(request, res, started);
      return then(res);
    };
  }

  /**
   * Counts one answered request; `response` is null when the app threw (Bun answers 500) and
   * undefined when it upgraded the request to a WebSocket (101).
   */
  #done(request: Request, response: Response | null | undefined, started: number): void {
    this.inFlight -= 1;
    if (this.#timed) this.#count(request, response, performance.now() - started);
    // Last: onLimit may begin the drain, which reads these numbers.
    if (++this.requests === this.limit) this.onLimit();
  }

  /** The request's duration, its status and method (METRICS) and its access line (ACCESS_LOG). */
  #count(request: Request, response: Response | null | undefined, ms: number): void {
    const status = response ? response.status : response === undefined ? 101 : 500;
    if (this.metered) {
      this.#durationMs += ms;
      const key = status * 16 + (METHOD_INDEX[request.method] ?? OTHER);
      this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
      let bucket = 0;
      while (bucket < LAST_BUCKET && ms > (BOUNDS_MS[bucket] as number)) bucket++;
      (this.#buckets[bucket] as number)++;
    }
    if (this.access) this.#accessLine(request, response, status, ms / 1000);
  }

  #accessLine(
    request: Request,
    response: Response | null | undefined,
    status: number,
    seconds: number,
  ) {
    const { name, bound } = this.access as AccessLog;
    const path = capTarget(pathOf(request.url));
    const ms = Math.round(seconds * 1e5) / 100;
    // hono/request-id answers the id it used (the client's, or a new one) in X-Request-Id.
    const requestId =
      response?.headers.get("x-request-id") ?? request.headers.get("x-request-id") ?? null;
    // Text lines already say method, path, status and time in the message.
    const fields =
      logFormat() === "json"
        ? { method: request.method, path, status, ms, requestId }
        : { requestId };
    writeLine(
      "stdout",
      LEVELS.info,
      name,
      `${request.method} ${path} ${status} ${ms} ms`,
      fields,
      bound,
    );
  }

  /** The request numbers (the runtime adds what it knows: open WebSockets). */
  snapshot(): Omit<ChildSnapshot, "websockets" | "sseStreams" | "sseCut"> {
    const counts: StatusCount[] = [...this.#counts].map(([key, n]) => [
      METHODS[key % 16] ?? "OTHER",
      Math.floor(key / 16),
      n,
    ]);
    return {
      rss: process.memoryUsage.rss(),
      metered: this.metered,
      requests: this.requests,
      inFlight: this.inFlight,
      counts,
      buckets: Array.from(this.#buckets),
      durationSum: this.#durationMs / 1000,
    };
  }
}
