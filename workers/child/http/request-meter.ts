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
  /** METRICS: the counts are reported (status, /metrics); off, only the total is kept. */
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

/**
 * Counts app requests in plain numbers (by method and status, a duration histogram, in flight)
 * and writes the access line. No header, no allocation per request beyond the timing: the
 * fleet's own routes never pass through here.
 */
export class RequestMeter {
  requests = 0;
  inFlight = 0;
  durationSum = 0;
  /** Key: status * 16 + method index. Bounded: ~500 statuses x 10 methods. */
  readonly #counts = new Map<number, number>();
  readonly #buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);

  private readonly metered: boolean;
  private readonly access: AccessLog | null;
  private readonly limit: number;
  private readonly onLimit: () => void;

  /** One count serves metrics, the access log and recycling (MAX_REQUESTS). */
  constructor({ metered, access, limit = 0, onLimit = () => {} }: MeterOptions) {
    this.metered = metered;
    this.access = access;
    this.limit = limit;
    this.onLimit = onLimit;
  }

  /**
   * The app's fetch with every request counted (and logged with ACCESS_LOG); the pipeline
   * (serve.ts) keeps the app's `websocket` handlers. A request the app upgraded to a WebSocket
   * answers nothing and counts as 101.
   */
  wrap(app: FetchApp): FetchApp["fetch"] {
    return (request: Request, server?: unknown) => {
      const started = performance.now();
      this.inFlight += 1;
      let res: ReturnType<FetchApp["fetch"]>;
      try {
        res = app.fetch(request, server as Server<undefined>);
      } catch (error) {
        this.#done(request, null, started); // Bun's error handler answers 500
        throw error;
      }
      if (!(res instanceof Promise)) {
        this.#done(request, res, started);
        return res;
      }
      return res.then(
        (response) => {
          this.#done(request, response, started);
          return response;
        },
        (error: unknown) => {
          this.#done(request, null, started);
          throw error;
        },
      );
    };
  }

  /**
   * Counts one answered request; `response` is null when the app threw (Bun answers 500) and
   * undefined when it upgraded the request to a WebSocket (101).
   */
  #done(request: Request, response: Response | null | undefined, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    const status = response === undefined ? 101 : response ? response.status : 500;
    this.requests += 1;
    if (this.requests === this.limit) this.onLimit();
    this.inFlight -= 1;
    this.durationSum += seconds;
    const key = status * 16 + (METHOD_INDEX[request.method] ?? OTHER);
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[bucket] as number)) {
      bucket++;
    }
    this.#buckets[bucket] = (this.#buckets[bucket] as number) + 1;
    if (this.access) this.#accessLine(request, response, status, seconds);
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
  snapshot(): Omit<ChildSnapshot, "websockets"> {
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
      buckets: [...this.#buckets],
      durationSum: this.durationSum,
    };
  }
}
