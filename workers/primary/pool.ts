import { ChildExitCode } from "../exit-codes.ts";
import type { Json, StopReason } from "../fleet.ts";
import type { Log } from "../log.ts";
import { type ChildInit, childSettings } from "../worker-init.ts";
import type { FleetConfig } from "./config/config.ts";
import { CrashPolicy } from "./crash-policy.ts";
import {
  type ChildEvents,
  type ChildExit,
  ChildProcess,
  describeExit,
  type SpawnChild,
  spawnChild,
} from "./worker-process.ts";

/** After the deadline, children cut their connections and exit; this long later we SIGKILL. */
export const KILL_GRACE_MS = 1000;

/**
 * A worker that drained on its own SIGINT is respawned this long after its exit, not at once: a
 * terminal's Ctrl-C sends SIGINT to every process of the fleet, and on a busy machine a worker can
 * drain and exit before the primary handles its own. If the stop begins meanwhile, the slot is
 * simply not respawned (and nothing says the worker left "on its own").
 */
export const SIGINT_RESPAWN_DELAY_MS = 500;

/** One place in the fleet: an HTTP worker index, or one instance of an extra process. */
export interface Slot {
  index: number;
  extra: { name: string; module: string } | null;
  /** The process serving this slot; a replacement becomes current only once ready. */
  current: ChildProcess | null;
  crashes: CrashPolicy;
  respawnTimer: Timer | undefined;
  /** Processes started for this slot: the first, then restarts + replacements. */
  spawns: number;
  /** Processes started because the one before exited unasked (a crash, a hang, its own exit). */
  restarts: number;
  /** Processes started to replace a live one on purpose (reload, recycle). */
  replacements: number;
}

/** Why a slot's process is replaced while it still serves. */
export type Replacement = "reload" | "recycle";

/** Why a process is spawned: a new slot, a restart after an exit, or a planned replacement. */
type SpawnCause = "new" | "restart" | Replacement;

/** What the pool needs from the primary. */
export interface PoolOwner extends ChildEvents {
  readonly starting: boolean;
  readonly running: boolean;
  /** A slot died before the fleet was ever ready. */
  bootFailed(worker: ChildProcess, why: string): void;
  /** A slot crashed too often. */
  crashLooped(worker: ChildProcess, why: string): void;
  /** A process was just spawned (before it is ready). */
  spawned(worker: ChildProcess): void;
}

/** The slots and their processes: spawn, respawn with backoff, replace the rolling way, resize. */
export class Pool {
  readonly http: Slot[] = [];
  readonly extras: Slot[] = [];
  readonly #slotOf = new Map<ChildProcess, Slot>();
  /** What the setup hook returned; every child gets it. */
  #setup: Json = null;
  /** The app's settings; every child gets them. */
  #appConfig: { [env: string]: Json } = {};
  /** Fleet-wide totals for status and metrics (slots removed by scaling keep counting here). */
  readonly totals = { restarts: 0, crashes: 0, replacements: { reload: 0, recycle: 0 } };

  constructor(
    private readonly config: FleetConfig,
    private readonly owner: PoolOwner,
    private readonly log: Log,
    /** How a child's process starts: a real one, or a test's (the seam for unit tests). */
    private readonly spawn: SpawnChild = spawnChild,
  ) {}

  /** The slot `worker` was spawned for, while it lives. */
  slotOf(worker: ChildProcess): Slot | undefined {
    return this.#slotOf.get(worker);
  }

  /** Every live process: current, replacements still booting, retiring ones, extras. */
  get live(): ChildProcess[] {
    return [...this.#slotOf.keys()].filter((w) => w.alive);
  }

  /** The processes currently serving HTTP, in slot order. */
  get serving(): ChildProcess[] {
    return this.http.flatMap((slot) => (slot.current ? [slot.current] : []));
  }

  /** Creates one slot per HTTP worker and per extra instance, and spawns them all. */
  start(
    setup: Json,
    extras: { name: string; module: string; instances: number }[],
    appConfig: { [env: string]: Json } = {},
  ): void {
    this.#setup = setup;
    this.#appConfig = appConfig;
    this.resize(this.config.workers);
    for (const { name, module, instances } of extras) {
      for (let index = 0; index < instances; index++) {
        const slot = this.#slot(index, { name, module });
        this.extras.push(slot);
        this.#spawnInto(slot, "new");
      }
    }
  }

  /** Grows or shrinks the HTTP slots; removed slots retire the rolling way. */
  resize(workers: number): void {
    while (this.http.length < workers) {
      const slot = this.#slot(this.http.length, null);
      this.http.push(slot);
      this.#spawnInto(slot, "new");
    }
    while (this.http.length > workers) {
      const slot = this.http.pop() as Slot;
      clearTimeout(slot.respawnTimer);
      this.#retire(slot, "scale-down");
    }
  }

  /**
   * Replaces a slot's process: HTTP slots start the replacement, wait until it is ready, then
   * retire the old one (capacity never dips) and wait until it has exited; extras stop first (two
   * consumers never overlap). So a reload, a recycle (they run one at a time) never has more than
   * one process beyond the fleet's own alive: what the app's per-process share of a connection
   * budget counts on (its database pool closes in onShutdown, before the exit).
   * False, and the old process keeps serving, when the replacement fails to boot.
   */
  async replace(slot: Slot, reason: Replacement): Promise<boolean> {
    if (slot.extra) {
      const old = this.#retire(slot, reason);
      if (old) await old.proc.exited;
      if (!this.owner.running) return false;
      this.#spawnInto(slot, reason);
      return (await (slot.current as ChildProcess).settled) === "ready";
    }
    const incoming = this.#spawn(slot, reason);
    if ((await incoming.settled) !== "ready") {
      const why = incoming.bootError ?? "exited before ready";
      this.log.error(`${reason}: replacement for slot ${slot.index} failed to boot (${why})`);
      return false;
    }
    if (!this.owner.running || !this.http.includes(slot)) {
      incoming.drain(reason, Date.now() + this.config.shutdownTimeoutMs);
      return false;
    }
    clearTimeout(slot.respawnTimer);
    const old = this.#retire(slot, reason);
    slot.current = incoming;
    this.log.info(
      `${reason}: ${incoming.name} serves slot ${slot.index}${old ? `; ${old.name} retires` : ""}`,
    );
    if (old) await this.#gone(old);
    return true;
  }

  /**
   * Resolves once a retiring process has exited: by its drain deadline, or SIGKILLed
   * KILL_GRACE_MS after it (an onShutdown that never settles must not stall the queue).
   */
  async #gone(worker: ChildProcess): Promise<void> {
    const graceMs = this.config.shutdownTimeoutMs + KILL_GRACE_MS;
    let timer: Timer | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const overdue = await Promise.race([worker.proc.exited.then(() => false), late]);
    clearTimeout(timer);
    if (!overdue) return;
    this.log.warn(`${worker.name} did not exit by its deadline; killing it`);
    worker.kill("SIGKILL");
    await worker.proc.exited;
  }

  /** Forgets an exited process; outside a stop, respawns or retires its slot as the exit says. */
  exited(worker: ChildProcess, exit: ChildExit): void {
    const slot = this.#slotOf.get(worker);
    this.#slotOf.delete(worker);
    if (!this.owner.running && !this.owner.starting) return; // stopping: the primary logs it
    if (!slot || slot.current !== worker) {
      const how =
        exit.code === ChildExitCode.ok
          ? "drained"
          : exit.code === ChildExitCode.forced
            ? "cut at its deadline"
            : describeExit(exit);
      if (exit.wasReady) this.log.info(`${worker.name} retired (${how})`);
      return;
    }
    slot.current = null;
    if (!exit.wasReady && this.owner.starting) {
      this.owner.bootFailed(worker, exit.bootError ?? describeExit(exit));
    } else if (exit.intended && exit.code === ChildExitCode.ok && !worker.hung) {
      const why = exit.ownDrainReason ? ` (${exit.ownDrainReason})` : "";
      const respawn = () => {
        // Stops cancel the timer; a scale-down may have removed the slot meanwhile.
        const inPool = this.http.includes(slot) || this.extras.includes(slot);
        if ((!this.owner.running && !this.owner.starting) || !inPool || slot.current) return;
        this.log.info(`${worker.name} drained on its own${why} and exited; respawning its slot`);
        this.#spawnInto(slot, "restart");
      };
      if (exit.ownDrainReason === "SIGINT") {
        this.log.debug(
          `${worker.name} exited after its own SIGINT: its slot is respawned in ${SIGINT_RESPAWN_DELAY_MS} ms unless the fleet stops`,
        );
        slot.respawnTimer = setTimeout(respawn, SIGINT_RESPAWN_DELAY_MS);
      } else respawn();
    } else {
      this.#crashed(slot, worker, exit);
    }
  }

  /** Cancels pending respawns (the fleet is stopping). */
  cancelRespawns(): void {
    for (const slot of [...this.http, ...this.extras]) clearTimeout(slot.respawnTimer);
  }

  #crashed(slot: Slot, worker: ChildProcess, exit: ChildExit): void {
    const { crashLoopLimit: limit, crashLoopWindowMs: windowMs } = this.config;
    const cause = exit.bootError
      ? `failed to boot: ${exit.bootError}`
      : describeExit(exit, worker.hung);
    this.totals.crashes += 1;
    const verdict = slot.crashes.record(Date.now());
    if (verdict.action === "give-up") {
      this.owner.crashLooped(
        worker,
        `${worker.name} ${cause}; its slot crashed ${limit} times within ${windowMs} ms: crash loop`,
      );
      return;
    }
    this.log.warn(
      `${worker.name} ${cause}; respawning its slot in ${verdict.delayMs} ms (crash ${verdict.recent} of ${limit} within ${windowMs} ms)`,
    );
    slot.respawnTimer = setTimeout(() => {
      // Stops cancel this timer; a scale-down may have removed the slot meanwhile.
      const inPool = this.http.includes(slot) || this.extras.includes(slot);
      if (inPool && !slot.current) this.#spawnInto(slot, "restart");
    }, verdict.delayMs);
  }

  #retire(slot: Slot, reason: StopReason): ChildProcess | null {
    const old = slot.current;
    slot.current = null;
    const windowMs = slot.extra ? 0 : this.config.drainWindowMs;
    old?.drain(reason, Date.now() + this.config.shutdownTimeoutMs, windowMs);
    return old;
  }

  #slot(index: number, extra: Slot["extra"]): Slot {
    const { crashLoopLimit, crashLoopWindowMs, respawnBackoffMs } = this.config;
    const crashes = new CrashPolicy(crashLoopLimit, crashLoopWindowMs, respawnBackoffMs);
    const counts = { spawns: 0, restarts: 0, replacements: 0 };
    return { index, extra, current: null, crashes, respawnTimer: undefined, ...counts };
  }

  #spawnInto(slot: Slot, cause: SpawnCause): void {
    slot.current = this.#spawn(slot, cause);
  }

  #spawn(slot: Slot, cause: SpawnCause): ChildProcess {
    const { config } = this;
    slot.spawns += 1;
    if (cause === "restart") {
      slot.restarts += 1;
      this.totals.restarts += 1;
    } else if (cause !== "new") {
      slot.replacements += 1;
      this.totals.replacements[cause] += 1;
    }
    const jitter = Math.floor(Math.random() * (config.maxRequestsJitter + 1));
    const init: ChildInit = {
      ...childSettings(config),
      extra: slot.extra,
      index: slot.index,
      context: slot.extra ? null : (config.contexts?.[slot.index] ?? null),
      setup: this.#setup,
      config: this.#appConfig,
      heartbeatMs: heartbeatPeriod(config.workerTimeoutMs),
      maxRequests: config.maxRequests > 0 ? config.maxRequests + jitter : 0,
    };
    const worker = new ChildProcess(init, config.bootTimeoutMs, this.owner, this.log, this.spawn);
    this.#slotOf.set(worker, slot);
    this.owner.spawned(worker);
    return worker;
  }
}

/** Workers beat five times per WORKER_TIMEOUT_MS (at most once a second). */
export function heartbeatPeriod(workerTimeoutMs: number): number {
  return Math.max(20, Math.min(1000, Math.floor(workerTimeoutMs / 5)));
}
