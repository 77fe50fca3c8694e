import type { Server } from "bun";
import type { Log } from "../log.ts";
import type { MeshPeer, Publication } from "../protocol.ts";
import { costOf, type PublishData, payloadOf, toPublication } from "../pubsub.ts";
import type { Channel } from "./channel.ts";
import { PubSubMesh } from "./pubsub-mesh.ts";

/** A worker's pub/sub counters (plain numbers, for status and metrics). */
export interface WorkerPubSubStats {
  /** Calls to `worker.publish` in this worker. */
  published: number;
  /** Messages received from siblings (mesh) or other fleets (the primary) and delivered here. */
  received: number;
}

/** What `worker.subscribe` calls: the payload (a string, or bytes) and its topic. */
export type MessageHandler = (data: string | Uint8Array, topic: string) => void;

/** How long a new worker waits for its siblings' welcome before it serves anyway. */
const JOIN_TIMEOUT_MS = 5000;
/** Counts reach the primary at most this often (and at once before a snapshot or a warning). */
const COUNTS_EVERY_MS = 100;

/**
 * A worker's side of fleet-wide pub/sub: `publish` delivers to this worker's subscribers at once
 * (`server.publish`) and writes the message to every sibling over the mesh (Unix sockets, see
 * pubsub-mesh.ts); with PUBSUB_URL it also hands it to the primary, which sends it to Redis.
 * Messages from siblings, and from other fleets through the primary, are delivered locally.
 */
export class WorkerPubSub {
  readonly stats: WorkerPubSubStats = { published: 0, received: 0 };
  readonly #mesh: PubSubMesh;
  #server: Server<unknown> | null = null;
  #receivedBytes = 0;
  #ackScheduled = false;
  /** With PUBSUB_URL: the primary sends publications to other fleets. */
  #remote = false;
  #peers: PromiseWithResolvers<void> | null = null;
  /** Counts not yet reported to the primary. */
  #reported = { published: 0, relayed: 0, dropped: 0 };
  #countsTimer: Timer | null = null;
  /** `worker.subscribe` handlers by topic; null once draining (no more deliveries to them). */
  #handlers: Map<string, Set<MessageHandler>> | null = new Map();

  constructor(
    private readonly channel: Channel,
    index: number,
    private readonly log: Log,
  ) {
    this.#mesh = new PubSubMesh(
      index,
      (publication) => this.#deliver(publication),
      () => this.reportCounts(),
      log,
    );
  }

  /**
   * Joins the mesh before this worker serves: listens, asks the primary for the siblings, opens
   * a socket to each and waits for its welcome, so a subscriber here misses nothing a sibling
   * publishes after the subscribe.
   */
  async join(): Promise<void> {
    if (!process.connected) return;
    this.#peers = Promise.withResolvers<void>();
    this.channel.send({ kind: "pubsub-listening", path: this.#mesh.listen() });
    await this.#peers.promise;
  }

  /** The primary's answer to `pubsub-listening`. */
  peers(peers: MeshPeer[], remote: boolean, maxLagBytes: number): void {
    this.#remote = remote;
    this.#mesh.maxLagBytes = maxLagBytes;
    const answered = this.#peers;
    this.#peers = null;
    void this.#mesh.join(peers, JOIN_TIMEOUT_MS).then(() => answered?.resolve());
  }

  /** The server whose subscribers this worker delivers to (null before it listens). */
  attach(server: Server<unknown> | null): void {
    this.#server = server;
  }

  /** `worker.publish`: here now, to every sibling over the mesh. Throws on bad input. */
  publish(topic: string, data: PublishData): void {
    const publication = toPublication(topic, data);
    this.stats.published += 1;
    const local =
      typeof data === "string" || data instanceof ArrayBuffer
        ? data
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#server?.publish(topic, local);
    this.#mesh.publish(publication);
    if (this.#remote) this.channel.send({ kind: "publish", ...publication });
    this.#countsSoon();
    // Last, so what a handler publishes goes out after this message, everywhere.
    if (this.#handlers?.has(topic)) {
      // Handlers get their own copy of bytes: the caller may reuse its buffer after publish.
      const copy =
        typeof data === "string"
          ? data
          : data instanceof ArrayBuffer
            ? new Uint8Array(data.slice(0))
            : new Uint8Array(local as Uint8Array); // copies the view's bytes
      this.#call(topic, copy);
    }
  }

  /** A publication from another fleet, relayed by the primary. */
  receive(publication: Publication): void {
    this.#receivedBytes += costOf(publication);
    this.#deliver(publication);
    // One ack per event-loop turn, not per message: IPC messages arrive in batches, and a loop
    // that is blocked acks nothing, which is how the primary learns this worker is behind.
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      this.channel.send({
        kind: "pubsub-ack",
        messages: this.stats.received,
        bytes: this.#receivedBytes,
      });
    });
  }

  /**
   * `worker.subscribe`: calls `handler` for every message published on `topic` anywhere in the
   * fleet (this worker included), in order per publisher; returns the unsubscribe. Throws on an
   * empty topic or a handler that is not a function. Once the worker drains, nothing is called
   * and new subscriptions do nothing.
   */
  subscribe(topic: string, handler: MessageHandler): () => void {
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError("worker.subscribe(topic, handler): topic must be a non-empty string");
    }
    if (typeof handler !== "function") {
      throw new TypeError(
        `worker.subscribe(${JSON.stringify(topic)}, handler): handler must be a function`,
      );
    }
    const handlers = this.#handlers;
    if (!handlers) return () => {};
    const set = handlers.get(topic) ?? new Set<MessageHandler>();
    handlers.set(topic, set);
    // Wrapped, so the same function subscribed twice is called twice and unsubscribed once each.
    const entry: MessageHandler = (data, t) => handler(data, t);
    set.add(entry);
    return () => {
      const current = this.#handlers?.get(topic);
      if (!current?.delete(entry)) return;
      if (current.size === 0) this.#handlers?.delete(topic);
    };
  }

  /** The worker exits: what its app published last goes out now, and its counts. */
  flush(): void {
    this.#mesh.flush();
    this.reportCounts();
  }

  /** The worker began to drain: every `worker.subscribe` handler is dropped. */
  unsubscribeAll(): void {
    this.#handlers = null;
  }

  /** Sends the counts since the last report to the primary now (before a snapshot, a warning). */
  reportCounts(): void {
    if (this.#countsTimer) clearTimeout(this.#countsTimer);
    this.#countsTimer = null;
    const { relayed, dropped } = this.#mesh.counts;
    const now = { published: this.stats.published, relayed, dropped };
    const last = this.#reported;
    if (now.published === last.published && relayed === last.relayed && dropped === last.dropped) {
      return;
    }
    this.#reported = now;
    this.channel.send({
      kind: "pubsub-counts",
      published: now.published - last.published,
      relayed: now.relayed - last.relayed,
      dropped: now.dropped - last.dropped,
    });
  }

  #countsSoon(): void {
    if (this.#countsTimer) return;
    this.#countsTimer = setTimeout(() => this.reportCounts(), COUNTS_EVERY_MS);
    this.#countsTimer.unref();
  }

  #deliver(publication: Publication): void {
    this.stats.received += 1;
    const payload = payloadOf(publication);
    this.#server?.publish(publication.topic, payload);
    if (this.#handlers?.has(publication.topic)) this.#call(publication.topic, payload);
  }

  /** Calls the handlers of `topic`; one that throws (or rejects) is logged, the others still run. */
  #call(topic: string, data: string | Uint8Array): void {
    const set = this.#handlers?.get(topic);
    if (!set) return;
    for (const handler of set) {
      try {
        const result: unknown = handler(data, topic); // an async handler returns a promise
        if (result instanceof Promise) result.catch((error) => this.#threw(topic, error));
      } catch (error) {
        this.#threw(topic, error);
      }
    }
  }

  #threw(topic: string, error: unknown): void {
    this.log.error(
      `a worker.subscribe handler of ${JSON.stringify(topic)} threw: ${(error as Error)?.stack ?? error}`,
    );
  }
}
