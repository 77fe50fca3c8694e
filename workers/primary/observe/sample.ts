import type { PrimaryState } from "../../lifecycle.ts";
import type { ChildSnapshot } from "../../snapshot.ts";
import type { Operations } from "../operations.ts";
import type { Pool, Slot } from "../pool.ts";
import type { FleetPubSub } from "../pubsub/index.ts";
import type { ChildProcess } from "../worker-process.ts";

/** What the collector reads from the primary at the moment it collects. */
export interface FleetView {
  pid: number;
  state: PrimaryState;
  /** Epoch ms the primary started. */
  startedAt: number;
  /** WORKERS at start. */
  startWorkers: number;
  pool: Pick<Pool, "live" | "slotOf" | "http" | "extras" | "totals"> | null;
  history: Operations["history"] | null;
  /** Pub/sub counters of the primary's hub (and Redis bridge, with PUBSUB_URL). */
  pubsub: ReturnType<FleetPubSub["stats"]>;
}

/** One live process with its slot and what it answered (null: not in time). */
export interface Sample {
  worker: ChildProcess;
  slot: Slot | undefined;
  snapshot: ChildSnapshot | null;
}
