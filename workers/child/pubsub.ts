import type { Server } from "bun";
import type { Publication } from "../protocol.ts";
import { costOf, type PublishData, payloadOf, toPublication } from "../pubsub.ts";
import type { Channel } from "./channel.ts";

/** A worker's pub/sub counters (plain numbers, for status and metrics). */
export interface WorkerPubSubStats {
  /** Calls to `worker.publish` in this worker. */
  published: number;
  /** Messages relayed here by the primary (from sibling workers or Redis) and published locally. */
  received: number;
}

/**
 * A worker's side of fleet-wide pub/sub: `publish` delivers to this worker's subscribers at once
 * (`server.publish`) and hands the message to the primary, which relays it to every sibling;
 * messages the primary relays here are published locally and acknowledged in batches.
 */
export class WorkerPubSub {
  readonly stats: WorkerPubSubStats = { published: 0, received: 0 };
  #server: Server<unknown> | null = null;
  #receivedBytes = 0;
  #ackScheduled = false;

  constructor(private readonly channel: Channel) {}

  /** The server whose subscribers this worker delivers to (null before it listens). */
  attach(server: Server<unknown> | null): void {
    this.#server = server;
  }

  /** `worker.publish`: here now, everywhere else through the primary. Throws on bad input. */
  publish(topic: string, data: PublishData): void {
    const publication = toPublication(topic, data);
    this.stats.published += 1;
    const local =
      typeof data === "string" || data instanceof ArrayBuffer
        ? data
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#server?.publish(topic, local);
    this.channel.send({ kind: "publish", ...publication });
  }

  /** A publication relayed by the primary. */
  receive(publication: Publication): void {
    this.stats.received += 1;
    this.#receivedBytes += costOf(publication);
    this.#server?.publish(publication.topic, payloadOf(publication));
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
}
