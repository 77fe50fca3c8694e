import type { Log } from "../../log.ts";
import type { Publication } from "../../protocol.ts";
import { costOf } from "../../pubsub.ts";

/** A worker as the hub sees it: something to relay to. */
export interface RelayTarget {
  readonly name: string;
  relay(publication: Publication): void;
}

/** Where the hub sends what this fleet's workers publish, besides its own workers (Redis). */
export interface RemoteBus {
  publish(publication: Publication): void;
}

/** The fleet's pub/sub counters (plain numbers, for status and metrics). */
export interface HubStats {
  /** `worker.publish` calls in this fleet's workers (as they report them). */
  published: number;
  /** Publications received from other fleets (Redis). */
  remote: number;
  /** Messages handed to a worker: by a sibling over the mesh, or by the hub from Redis. */
  relayed: number;
  /** Messages not handed to a worker because it was too far behind (see `maxLagBytes`). */
  dropped: number;
}

/** What the hub knows of one worker's channel: bytes sent and acknowledged. */
interface Lane {
  sentBytes: number;
  ackedBytes: number;
  /** Dropped since the lane last caught up; > 0 means a warning was logged. */
  droppedRun: number;
}

/**
 * The primary's relay of other fleets' publications (Redis) to its HTTP workers, in arrival
 * order, and the bridge of this fleet's publications to Redis. (Workers of one fleet exchange
 * their publications directly, over the mesh: the hub relays none of them.) A worker that is more than `maxLagBytes` behind (sent but not
 * yet acknowledged) gets nothing until it catches up: its messages are dropped, counted and
 * warned about once per episode, so a stuck worker never grows the primary's memory.
 */
export class PubSubHub {
  readonly stats: HubStats = { published: 0, remote: 0, relayed: 0, dropped: 0 };
  readonly #lanes = new Map<RelayTarget, Lane>();
  #remote: RemoteBus | null = null;

  constructor(
    private readonly maxLagBytes: number,
    private readonly log: Log,
  ) {}

  /** Sends this fleet's publications to other fleets too (Redis), from now on. */
  connectRemote(remote: RemoteBus): void {
    this.#remote = remote;
  }

  /** A worker that may have subscribers: relay to it from now on (call at spawn). */
  add(target: RelayTarget): void {
    this.#lanes.set(target, { sentBytes: 0, ackedBytes: 0, droppedRun: 0 });
  }

  /** A worker that exited. */
  remove(target: RelayTarget): void {
    this.#lanes.delete(target);
  }

  /** What a worker published (delivered in this fleet already): for other fleets. */
  fromWorker(publication: Publication): void {
    this.#remote?.publish(publication);
  }

  /** What another fleet published. */
  fromRemote(publication: Publication): void {
    this.stats.remote += 1;
    this.#relay(publication);
  }

  /** A worker's running totals of what it received. */
  ack(target: RelayTarget, bytes: number): void {
    const lane = this.#lanes.get(target);
    if (lane && bytes <= lane.sentBytes) lane.ackedBytes = Math.max(lane.ackedBytes, bytes);
  }

  /** Bytes sent to `target` and not yet acknowledged (for tests and status). */
  lagOf(target: RelayTarget): number {
    const lane = this.#lanes.get(target);
    return lane ? lane.sentBytes - lane.ackedBytes : 0;
  }

  #relay(publication: Publication): void {
    const cost = costOf(publication);
    for (const [target, lane] of this.#lanes) {
      if (lane.sentBytes - lane.ackedBytes + cost > this.maxLagBytes) {
        this.stats.dropped += 1;
        lane.droppedRun += 1;
        if (lane.droppedRun === 1) {
          this.log.warn(
            `pub/sub: ${target.name} is ${lane.sentBytes - lane.ackedBytes} bytes behind (PUBSUB_MAX_LAG_BYTES ${this.maxLagBytes}); dropping its messages until it catches up`,
          );
        }
        continue;
      }
      if (lane.droppedRun > 0) {
        this.log.warn(
          `pub/sub: ${target.name} caught up; ${lane.droppedRun} message(s) were dropped for it`,
        );
        lane.droppedRun = 0;
      }
      lane.sentBytes += cost;
      this.stats.relayed += 1;
      target.relay(publication);
    }
  }
}
