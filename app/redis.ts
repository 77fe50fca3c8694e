/**
 * The app's Redis (REDIS_URL): Bun's built-in client with the fleet's outage policy, the one its
 * own pub/sub bridge follows. No request waits on a Redis that is away: while the connection is
 * down every call fails at once, and a call on a live connection that gets no answer within
 * `timeoutMs` fails then (RedisUnavailable, a 503 through app/errors.ts unless the caller
 * falls back). The connection comes back by itself (backoff from 100 ms to 2 s), and an outage
 * is logged once when it begins and once when it ends. One per worker: `redis(worker)`.
 */
import { RedisClient } from "bun";
import type { FleetLog } from "../workers/fleet.ts";

/** Redis is down, or did not answer in time: answer without it, or 503. */
export class RedisUnavailable extends Error {
  override name = "RedisUnavailable";
}

export interface AppRedisOptions {
  /** Longest a call waits for Redis's answer (default 250 ms). */
  timeoutMs?: number;
  /** Reconnect delays: from `minMs`, doubling up to `maxMs` (default 100 ms to 2 s). */
  backoff?: { minMs: number; maxMs: number };
}

/** A URL with its password hidden, for logs. */
function shown(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/** One Redis connection that keeps itself up; `run` is how app code uses it. */
export class AppRedis {
  #client: RedisClient | null = null;
  #closed = false;
  /** Why and since when Redis is away (null while it answers): one log line each way. */
  #outage: { since: number } | null = null;
  readonly #where: string;
  readonly #timeoutMs: number;
  readonly #backoff: { minMs: number; maxMs: number };
  /** Settles when the first connection attempt has succeeded or failed. */
  readonly #firstAttempt = Promise.withResolvers<void>();

  constructor(
    private readonly url: string,
    private readonly log: FleetLog,
    { timeoutMs = 250, backoff = { minMs: 100, maxMs: 2000 } }: AppRedisOptions = {},
  ) {
    this.#where = shown(url);
    this.#timeoutMs = timeoutMs;
    this.#backoff = backoff;
    void this.#keep();
  }

  /** True while connected and answering. */
  get available(): boolean {
    return this.#outage === null && this.#client?.connected === true;
  }

  /**
   * Runs `command` with the client, bounded by the deadline: RedisUnavailable at once while the
   * connection is down, or after `timeoutMs` without an answer. Redis's own errors (a wrong
   * type, a script error) are thrown as they are.
   */
  async run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    // Just started: the first connection may still be on its way (bounded like any call).
    if (!this.#client && !this.#outage && !this.#closed) await this.#firstConnection();
    const client = this.#client;
    if (this.#closed || !client?.connected) throw new RedisUnavailable("Redis is unavailable");
    let timer: Timer | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#down(`no answer within ${this.#timeoutMs} ms`);
        reject(new RedisUnavailable(`Redis did not answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    try {
      const value = await Promise.race([command(client), late]);
      this.#up();
      return value;
    } catch (error) {
      if (error instanceof RedisUnavailable) throw error;
      if (!client.connected) throw new RedisUnavailable(`Redis connection lost: ${error}`);
      this.#up(); // Redis answered, with an error of its own
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #firstConnection(): Promise<void> {
    let timer: Timer | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#timeoutMs);
    });
    await Promise.race([this.#firstAttempt.promise, late]);
    clearTimeout(timer);
  }

  /** Closes the connection; no reconnect after this. */
  close(): void {
    this.#closed = true;
    this.#client?.close();
  }

  #down(why: string): void {
    if (this.#outage || this.#closed) return;
    this.#outage = { since: performance.now() };
    this.log.warn(`redis: ${this.#where} is unavailable (${why}); requests go on without it`);
  }

  #up(): void {
    if (!this.#outage) return;
    const ms = Math.round(performance.now() - this.#outage.since);
    this.#outage = null;
    this.log.info(`redis: ${this.#where} answers again after ${ms} ms`);
  }

  /** Connect, wait for the connection to close, back off, again; until `close`. */
  async #keep(): Promise<void> {
    let delay = this.#backoff.minMs;
    while (!this.#closed) {
      const closed = Promise.withResolvers<Error | undefined>();
      const client = new RedisClient(this.url, {
        autoReconnect: false, // our own loop: its backoff, its one line per outage
        enableOfflineQueue: false, // a command while down fails at once instead of waiting
        connectionTimeout: 2000,
      });
      client.onclose = (error) => closed.resolve(error);
      try {
        await client.connect();
        this.#client = client;
        this.#up();
        delay = this.#backoff.minMs;
      } catch (error) {
        closed.resolve(error as Error);
      }
      this.#firstAttempt.resolve();
      const error = await closed.promise;
      if (this.#closed) break;
      this.#down(error?.message ?? "connection closed");
      client.close();
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, this.#backoff.maxMs);
    }
  }
}

const perProcess = new Map<string, AppRedis>();

/**
 * This process's connection to `url` (REDIS_URL), made on first use and closed when the worker
 * begins to drain (`signal`); calls after that fail at once with RedisUnavailable.
 */
export function redis(
  url: string,
  worker: { log: FleetLog; signal: AbortSignal },
  options?: AppRedisOptions,
): AppRedis {
  let client = perProcess.get(url);
  if (!client) {
    client = new AppRedis(url, worker.log, options);
    perProcess.set(url, client);
    const made = client;
    worker.signal.addEventListener("abort", () => made.close(), { once: true });
  }
  return client;
}
