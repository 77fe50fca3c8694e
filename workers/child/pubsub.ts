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

  constructor(
    private readonly channel: Channel,
    index: number,
    log: Log,
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
    this.#server?.publish(publication.topic, payloadOf(publication));
  }
}
