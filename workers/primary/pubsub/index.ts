import type { Log } from "../../log.ts";
import type { FleetConfig } from "../config/config.ts";
import { PubSubHub } from "./hub.ts";
import { RedisBridge } from "./redis-bridge.ts";

/** The primary's pub/sub: the hub that relays between workers, plus Redis with PUBSUB_URL. */
export class FleetPubSub {
  readonly hub: PubSubHub;
  /** Null unless PUBSUB_URL is set. */
  readonly redis: RedisBridge | null;

  constructor(config: Pick<FleetConfig, "pubsubUrl" | "pubsubMaxLagBytes">, log: Log) {
    this.hub = new PubSubHub(config.pubsubMaxLagBytes, log);
    this.redis = config.pubsubUrl
      ? new RedisBridge(config.pubsubUrl, (publication) => this.hub.fromRemote(publication), log)
      : null;
    if (this.redis) this.hub.connectRemote(this.redis);
  }

  /** Connects to Redis (in the background: workers start without waiting for it). */
  start(): void {
    this.redis?.start();
  }

  /** Closes the Redis connections. */
  stop(): void {
    this.redis?.stop();
  }

  /** Every counter, as plain numbers. */
  stats(): { hub: PubSubHub["stats"]; redis: RedisBridge["stats"] | null } {
    return { hub: { ...this.hub.stats }, redis: this.redis ? { ...this.redis.stats } : null };
  }
}
