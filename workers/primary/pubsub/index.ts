import { readdirSync, rmSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
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

  /**
   * Connects to Redis (in the background: workers start without waiting for it), and removes
   * the socket folders of workers that were killed with their primary (nobody else could).
   */
  start(): void {
    this.redis?.start();
    sweepMeshFolders(process.env.TMPDIR || "/tmp");
  }

  /** Closes the Redis connections. */
  stop(): void {
    this.redis?.stop();
  }

  /**
   * A worker's mesh socket listens at `path`: it gets every member so far (it opens one socket
   * to each), then becomes one itself, so each pair is joined once, by the later of the two.
   * Null when the path is not one this worker makes (`<tmp>/bun-fleet-mesh-XXXXXX/<pid>.sock`).
   */
  listening(worker: MeshMember, path: string): MeshAnswer | null {
    if (!isMeshPath(path, worker.pid)) {
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

const MESH_FOLDER = /^bun-fleet-mesh-[A-Za-z0-9]{6}$/;

/** `<absolute folder>/bun-fleet-mesh-XXXXXX/<pid>.sock`, as child/pubsub-mesh.ts makes them. */
function isMeshPath(path: string, pid: number): boolean {
  return (
    isAbsolute(path) &&
    !path.includes("/../") &&
    basename(path) === `${pid}.sock` &&
    MESH_FOLDER.test(basename(dirname(path)))
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * Removes this user's mesh folders in `tmp` whose worker is gone: a worker removes its own at
 * exit, and the primary when a worker dies, but a SIGKILL of the whole process group leaves them.
 */
export function sweepMeshFolders(tmp: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(tmp).filter((name) => MESH_FOLDER.test(name));
  } catch {
    return 0;
  }
  for (const name of names) {
    const dir = join(tmp, name);
    try {
      const sockets = readdirSync(dir).filter((file) => /^\d+\.sock$/.test(file));
      if (sockets.length > 0 && sockets.every((file) => !isAlive(Number.parseInt(file, 10)))) {
        rmSync(dir, { recursive: true, force: true });
        removed += 1;
      }
    } catch {
      // another user's folder (mode 0700), or gone meanwhile
    }
  }
  return removed;
}
