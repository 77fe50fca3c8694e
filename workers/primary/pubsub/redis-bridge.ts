import { RedisClient } from "bun";
import type { Log } from "../../log.ts";
import type { Publication } from "../../protocol.ts";
import type { RemoteBus } from "./hub.ts";
import { decodeEnvelope, encodeEnvelope } from "./redis-envelope.ts";

/** The one Redis channel every fleet of this app publishes to and listens on. */
export const REDIS_CHANNEL = "bun-fleet:pubsub";

/** Above this many bytes waiting for Redis, publications are dropped (and counted as lost). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** The bridge's counters (plain numbers, for status and metrics). */
export interface RedisStats {
  /** Publications sent to Redis. */
  sent: number;
  /** Publications from other fleets received from Redis. */
  received: number;
  /** Publications not sent to Redis (it was down or too slow): other fleets never see them. */
  lost: number;
  /** Times a live connection to Redis was lost. */
  disconnects: number;
}

/** Reconnect delays: from `minMs`, doubling up to `maxMs`. */
export interface Backoff {
  minMs: number;
  maxMs: number;
}

/** Hides a password in a URL shown in logs. */
export function shownUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/**
 * Fleet-to-fleet pub/sub through Redis, from the primary: one connection publishes what this
 * fleet's workers publish, one subscribes and hands other fleets' publications to the hub.
 * Each envelope carries this primary's random origin id, so a fleet ignores its own echo.
 * A connection that fails or drops is logged, counted and retried with backoff; meanwhile
 * local delivery goes on and publications for other fleets are dropped (Redis pub/sub keeps
 * nothing for absent listeners either), never queued.
 */
export class RedisBridge implements RemoteBus {
  readonly stats: RedisStats = { sent: 0, received: 0, lost: 0, disconnects: 0 };
  readonly origin = Buffer.from(crypto.getRandomValues(new Uint8Array(9))).toString("base64url");
  #publisher: RedisClient | null = null;
  readonly #clients = new Set<RedisClient>();
  #stopped = false;
  #lostSinceDown = 0;
  /** Publications dropped since the write buffer to Redis went over its bound. */
  #overflow = 0;
  readonly #where: string;

  constructor(
    private readonly url: string,
    private readonly deliver: (publication: Publication) => void,
    private readonly log: Log,
    private readonly backoff: Backoff = { minMs: 100, maxMs: 2000 },
  ) {
    this.#where = shownUrl(url);
  }

  /** Connects both sides, each reconnecting on its own until `stop`. */
  start(): void {
    void this.#keep("publisher", async (client) => {
      this.#publisher = client;
    });
    void this.#keep("subscriber", async (client) => {
      await client.subscribe(REDIS_CHANNEL, (text) => this.#received(text));
    });
  }

  /** Closes both connections; no reconnect after this. */
  stop(): void {
    this.#stopped = true;
    for (const client of this.#clients) client.close();
  }

  publish(publication: Publication): void {
    const client = this.#publisher;
    if (!client?.connected) {
      this.stats.lost += 1;
      this.#lostSinceDown += 1;
      return;
    }
    if (client.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.stats.lost += 1;
      this.#overflow += 1;
      if (this.#overflow === 1) {
        this.log.warn(
          `pub/sub: more than ${MAX_BUFFERED_BYTES} bytes wait to be written to Redis; other fleets miss this fleet's messages until it drains`,
        );
      }
      return;
    }
    if (this.#overflow > 0) {
      this.log.warn(
        `pub/sub: Redis caught up; ${this.#overflow} publication(s) were not sent to other fleets`,
      );
      this.#overflow = 0;
    }
    this.stats.sent += 1;
    client.publish(REDIS_CHANNEL, encodeEnvelope(this.origin, publication)).catch(() => {
      this.stats.lost += 1;
      this.#lostSinceDown += 1;
    });
  }

  #received(text: string): void {
    const envelope = decodeEnvelope(text);
    if (!envelope.ok) {
      this.log.warn(
        `pub/sub: ignored a message on Redis channel ${REDIS_CHANNEL}: ${envelope.error}`,
      );
      return;
    }
    if (envelope.origin === this.origin) return; // our own, delivered already
    this.stats.received += 1;
    this.deliver(envelope.publication);
  }

  /** One connection's life: connect, run `up`, wait for it to close, back off, again. */
  async #keep(role: string, up: (client: RedisClient) => Promise<void>): Promise<void> {
    let delay = this.backoff.minMs;
    let downSince: number | null = null;
    let everUp = false;
    while (!this.#stopped) {
      const closed = Promise.withResolvers<Error | undefined>();
      const client = new RedisClient(this.url, {
        autoReconnect: false, // our own loop, so a restarted Redis gets a fresh subscription
        enableOfflineQueue: false, // never buffer publications while down
        connectionTimeout: 2000,
      });
      client.onclose = (error) => closed.resolve(error);
      this.#clients.add(client);
      try {
        await client.connect();
        await up(client);
      } catch (error) {
        closed.resolve(error as Error);
      }
      if (client.connected) {
        const after =
          downSince === null ? "" : ` after ${Math.round(performance.now() - downSince)} ms`;
        const lost =
          role === "publisher" && everUp
            ? `; ${this.#lostSinceDown} publication(s) were not sent meanwhile`
            : "";
        this.log.info(`pub/sub: Redis ${role} connected to ${this.#where}${after}${lost}`);
        if (role === "publisher") this.#lostSinceDown = 0;
        everUp = true;
        downSince = null;
        delay = this.backoff.minMs;
        const error = await closed.promise;
        if (this.#stopped) break;
        if (role === "publisher") this.stats.disconnects += 1;
        this.log.warn(
          `pub/sub: lost the Redis ${role} connection to ${this.#where} (${error?.message ?? "closed"}); local delivery continues, reconnecting`,
        );
        downSince = performance.now();
      } else if (downSince === null) {
        const error = await closed.promise;
        this.log.warn(
          `pub/sub: Redis at ${this.#where} is unreachable for the ${role} (${error?.message ?? "closed"}); local delivery continues, retrying every ${this.backoff.minMs}-${this.backoff.maxMs} ms`,
        );
        downSince = performance.now();
      }
      client.close();
      this.#clients.delete(client);
      if (this.#stopped) break;
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, this.backoff.maxMs);
    }
  }
}
