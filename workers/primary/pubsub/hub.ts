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

/** The hub's counters (plain numbers, for status and metrics). */
export interface HubStats {
  /** Publications received from this fleet's workers. */
  published: number;
  /** Publications received from other fleets (Redis). */
  remote: number;
  /** Messages sent to a worker. */
  relayed: number;
  /** Messages not sent to a worker because it was too far behind (see `maxLagBytes`). */
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
 * The primary's pub/sub relay. Every publication goes to every HTTP worker but its publisher
 * (which delivered it locally already), in arrival order, so each subscriber sees each message
 * once and in order per publisher. A worker that is more than `maxLagBytes` behind (sent but not
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

  /** What a worker published (and delivered to its own subscribers). */
  fromWorker(origin: RelayTarget, publication: Publication): void {
    this.stats.published += 1;
    this.#relay(publication, origin);
    this.#remote?.publish(publication);
  }

  /** What another fleet published. */
  fromRemote(publication: Publication): void {
    this.stats.remote += 1;
    this.#relay(publication, null);
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

  #relay(publication: Publication, origin: RelayTarget | null): void {
    const cost = costOf(publication);
    for (const [target, lane] of this.#lanes) {
      if (target === origin) continue;
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
