import type { Json, StopReason } from "../app/fleet.ts";
import type { FleetConfig } from "./config.ts";
import { CrashPolicy } from "./crash-policy.ts";
import { ExitCode, WorkerExitCode } from "./exit-codes.ts";
import { Lifecycle, PRIMARY_TRANSITIONS, type PrimaryState } from "./lifecycle.ts";
import type { Log } from "./log.ts";
import {
  describeExit,
  type WorkerEvents,
  type WorkerExit,
  WorkerProcess,
} from "./worker-process.ts";

/** After the deadline, workers cut their connections and exit; this long later we SIGKILL. */
export const KILL_GRACE_MS = 1000;

interface Stop {
  reason: StopReason;
  code: ExitCode;
  startedAt: number;
}

/**
 * The set of workers: spawns one per slot, respawns crashed ones into the same slot, and owns
 * the one stop funnel (`requestStop`) with its single deadline.
 */
export class Primary implements WorkerEvents {
  readonly lifecycle = new Lifecycle<PrimaryState>("starting", PRIMARY_TRANSITIONS);
  readonly #slots: (WorkerProcess | null)[];
  readonly #crashPolicies: CrashPolicy[];
  readonly #respawnTimers = new Set<Timer>();
  readonly #done = Promise.withResolvers<ExitCode>();
  readonly #bootStartedAt = performance.now();
  #setup: Json = null;
  #stop: Stop | null = null;
  #killTimer: Timer | undefined;

  constructor(
    private readonly config: FleetConfig,
    private readonly log: Log,
    private readonly onRunning: (primary: Primary, bootMs: number) => void,
  ) {
    this.#slots = Array.from({ length: config.workers }, () => null);
    this.#crashPolicies = this.#slots.map(
      () =>
        new CrashPolicy(config.crashLoopLimit, config.crashLoopWindowMs, config.respawnBackoffMs),
    );
  }

  /** Spawns every worker; resolves with the primary's exit code once the fleet has stopped. */
  run(setup: Json): Promise<ExitCode> {
    this.#setup = setup;
    if (this.#stop) this.#finishIfDone();
    else for (let index = 0; index < this.#slots.length; index++) this.#spawn(index);
    return this.#done.promise;
  }

  /** The live workers, in slot order. */
  get workers(): WorkerProcess[] {
    return this.#slots.filter((w): w is WorkerProcess => w?.alive === true);
  }

  get stopping(): boolean {
    return this.#stop !== null;
  }

  /** The stop funnel: the first call wins and drains every worker by one deadline. */
  requestStop(reason: StopReason, code: ExitCode = ExitCode.ok): void {
    if (this.#stop) {
      this.log.info(`already stopping (${this.#stop.reason}); ${reason} changes nothing`);
      return;
    }
    this.#stop = { reason, code, startedAt: performance.now() };
    this.lifecycle.to("stopping");
    this.#cancelRespawns();
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    const live = this.workers;
    this.log.info(
      `stopping (${reason}): draining ${live.length} worker(s), deadline ${this.config.shutdownTimeoutMs} ms`,
    );
    for (const worker of live) worker.drain(reason, deadline);
    this.#killTimer = setTimeout(
      () => this.#killStragglers(),
      this.config.shutdownTimeoutMs + KILL_GRACE_MS,
    );
    this.#finishIfDone();
  }

  /** Immediate stop (a second Ctrl-C): SIGKILL every worker and exit 130. */
  force(): void {
    if (!this.#stop) this.requestStop("SIGINT");
    const stop = this.#stop as Stop;
    stop.code = ExitCode.forced;
    this.log.warn(`forced stop: killing ${this.workers.length} worker(s) now`);
    for (const worker of this.workers) worker.kill("SIGKILL");
  }

  ready(worker: WorkerProcess): void {
    if (!this.lifecycle.is("starting")) {
      this.log.info(`${worker.name} is ready`);
      return;
    }
    if (this.#slots.every((w) => w?.lifecycle.is("ready"))) {
      this.lifecycle.to("running");
      this.onRunning(this, performance.now() - this.#bootStartedAt);
    }
  }

  stopRequested(worker: WorkerProcess, reason: StopReason): void {
    this.log.info(`${worker.name} asks the fleet to stop (${reason})`);
    this.requestStop(reason);
  }

  exited(worker: WorkerProcess, exit: WorkerExit): void {
    if (this.#slots[worker.index] === worker) this.#slots[worker.index] = null;
    if (this.#stop) {
      this.#exitedWhileStopping(worker, exit);
    } else if (!exit.wasReady && this.lifecycle.is("starting")) {
      this.log.error(`${worker.name} failed to boot: ${exit.bootError ?? describeExit(exit)}`);
      this.requestStop("boot-failure", ExitCode.bootFailure);
    } else if (exit.intended && exit.code === WorkerExitCode.ok) {
      this.log.info(`${worker.name} drained on its own and exited; respawning its slot`);
      this.#spawn(worker.index);
    } else {
      this.#crashed(worker, exit);
    }
  }

  #crashed(worker: WorkerProcess, exit: WorkerExit): void {
    const { crashLoopLimit: limit, crashLoopWindowMs: windowMs } = this.config;
    const cause = exit.bootError ? `failed to boot: ${exit.bootError}` : describeExit(exit);
    const verdict = this.#crashPolicies[worker.index]?.record(Date.now());
    if (!verdict || verdict.action === "give-up") {
      this.log.error(
        `${worker.name} ${cause}; slot ${worker.index} crashed ${limit} times within ${windowMs} ms: crash loop, stopping the fleet (exit ${ExitCode.crashLoop})`,
      );
      this.requestStop("crash-loop", ExitCode.crashLoop);
      return;
    }
    this.log.warn(
      `${worker.name} ${cause}; respawning slot ${worker.index} in ${verdict.delayMs} ms (crash ${verdict.recent} of ${limit} within ${windowMs} ms)`,
    );
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer);
      this.#spawn(worker.index);
    }, verdict.delayMs);
    this.#respawnTimers.add(timer);
  }

  #exitedWhileStopping(worker: WorkerProcess, exit: WorkerExit): void {
    const stop = this.#stop as Stop;
    if (exit.code === WorkerExitCode.forced && stop.code === ExitCode.ok)
      stop.code = ExitCode.deadline;
    const clean = exit.code === WorkerExitCode.ok;
    const line = `${worker.name} ${clean ? "drained and exited" : describeExit(exit)}`;
    if (clean || stop.code === ExitCode.forced) this.log.info(line);
    else this.log.warn(line);
    this.#finishIfDone();
  }

  #spawn(index: number): void {
    const { config } = this;
    const init = {
      index,
      context: config.contexts?.[index] ?? null,
      setup: this.#setup,
      port: config.port,
      host: config.host,
      appModule: config.appModule,
      hooksModule: config.hooksModule,
      adminToken: config.adminToken,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    };
    this.#slots[index] = new WorkerProcess(init, config.bootTimeoutMs, this, this.log);
  }

  #cancelRespawns(): void {
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
  }

  #killStragglers(): void {
    const stop = this.#stop as Stop;
    const live = this.workers;
    this.log.error(
      `shutdown deadline passed: killing ${live.map((w) => w.name).join(", ") || "no one"}`,
    );
    if (stop.code === ExitCode.ok) stop.code = ExitCode.deadline;
    for (const worker of live) worker.kill("SIGKILL");
  }

  #finishIfDone(): void {
    const stop = this.#stop;
    if (!stop || this.workers.length > 0 || this.lifecycle.is("stopped")) return;
    clearTimeout(this.#killTimer);
    this.lifecycle.to("stopped");
    const ms = Math.round(performance.now() - stop.startedAt);
    this.log.info(`stopped (${stop.reason}) in ${ms} ms; exit ${stop.code}`);
    this.#done.resolve(stop.code);
  }
}
