import { rmSync } from "node:fs";
import { basename, dirname, isAbsolute } from "node:path";
import type { Log } from "../../log.ts";
import type { MeshPeer } from "../../protocol.ts";
import type { FleetConfig } from "../config/config.ts";
import { PubSubHub, type RelayTarget } from "./hub.ts";
import { RedisBridge } from "./redis-bridge.ts";

/** A worker that can join the mesh: the hub's relay target, plus who it is. */
export interface MeshMember extends RelayTarget {
  readonly index: number;
  readonly pid: number;
}

/** The answer a worker gets to `pubsub-listening`. */
export interface MeshAnswer {
  peers: MeshPeer[];
  remote: boolean;
  maxLagBytes: number;
}

/**
 * The primary's pub/sub. Workers exchange publications directly (each pair over one Unix socket;
 * see child/pubsub-mesh.ts): the primary only introduces them, each new worker to those that
 * listened before it, and keeps the fleet's counts. With PUBSUB_URL it is the bridge to Redis:
 * workers hand it what they publish, and the hub relays other fleets' publications to them.
 */
export class FleetPubSub {
  readonly hub: PubSubHub;
  /** Null unless PUBSUB_URL is set. */
  readonly redis: RedisBridge | null;
  /** Workers whose mesh socket listens, and where. */
  readonly #members = new Map<MeshMember, MeshPeer>();

  constructor(
    private readonly config: Pick<FleetConfig, "pubsubUrl" | "pubsubMaxLagBytes">,
    private readonly log: Log,
  ) {
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

  /**
   * A worker's mesh socket listens at `path`: it gets every member so far (it opens one socket
   * to each), then becomes one itself, so each pair is joined once, by the later of the two.
   * Null when the path is not one a worker makes (`<tmp>/bun-fleet-XXXXXX/mesh.sock`).
   */
  listening(worker: MeshMember, path: string): MeshAnswer | null {
    if (!isMeshPath(path)) {
      this.log.warn(`pub/sub: ${worker.name} sent a mesh socket path that is not one: ${path}`);
      return null;
    }
    const peers = [...this.#members.values()];
    this.#members.set(worker, { index: worker.index, pid: worker.pid, path });
    const { pubsubUrl, pubsubMaxLagBytes } = this.config;
    return { peers, remote: pubsubUrl !== null, maxLagBytes: pubsubMaxLagBytes };
  }

  /** A worker exited: no one joins it any more; its socket folder goes (it may have been killed). */
  left(worker: MeshMember): void {
    const member = this.#members.get(worker);
    if (!member) return;
    this.#members.delete(worker);
    rmSync(dirname(member.path), { recursive: true, force: true });
  }

  /** Counts a worker reported since its last report. */
  counted(counts: { published: number; relayed: number; dropped: number }): void {
    const { stats } = this.hub;
    stats.published += counts.published;
    stats.relayed += counts.relayed;
    stats.dropped += counts.dropped;
  }

  /** Every counter, as plain numbers. */
  stats(): { hub: PubSubHub["stats"]; redis: RedisBridge["stats"] | null } {
    return { hub: { ...this.hub.stats }, redis: this.redis ? { ...this.redis.stats } : null };
  }
}

/** `<absolute folder>/bun-fleet-XXXXXX/mesh.sock`, as child/pubsub-mesh.ts makes them. */
function isMeshPath(path: string): boolean {
  return (
    isAbsolute(path) &&
    !path.includes("/../") &&
    basename(path) === "mesh.sock" &&
    /^bun-fleet-[A-Za-z0-9]{6}$/.test(basename(dirname(path)))
  );
}
