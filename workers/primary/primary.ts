import { ExitCode, WorkerExitCode } from "../exit-codes.ts";
import type { ExtraProcess, Json, StopReason } from "../fleet.ts";
import { Lifecycle, PRIMARY_TRANSITIONS, type PrimaryState } from "../lifecycle.ts";
import type { Log } from "../log.ts";
import type { Collected, Publication } from "../protocol.ts";
import type { FleetConfig } from "./config/config.ts";
import { Collector } from "./observe/collector.ts";
import { Operations, type ReloadOutcome } from "./operations.ts";
import { heartbeatPeriod, Pool, type PoolOwner } from "./pool.ts";
import { FleetPubSub } from "./pubsub/index.ts";
import { Watchdog } from "./watchdog.ts";
import { describeExit, type WorkerExit, type WorkerProcess } from "./worker-process.ts";

/** After the deadline, workers cut their connections and exit; this long later we SIGKILL. */
export const KILL_GRACE_MS = 1000;

interface Stop {
  reason: StopReason;
  code: ExitCode;
  startedAt: number;
}

/**
 * The supervisor: starts the pool, routes what workers ask for (stop, reload, scale, recycle),
 * and owns the one stop funnel (`requestStop`) with its single deadline.
 */
export class Primary implements PoolOwner {
  readonly lifecycle = new Lifecycle<PrimaryState>("starting", PRIMARY_TRANSITIONS);
  readonly #done = Promise.withResolvers<ExitCode>();
  readonly #bootStartedAt = performance.now();
  /** Settles once the fleet runs or stops: the operations queue waits for it. */
  readonly #opened = Promise.withResolvers<void>();
  readonly #pool: Pool;
  readonly #operations: Operations;
  /** Epoch ms of the start, for status. */
  readonly startedAt = Date.now();
  readonly #collector: Collector;
  #watchdog: Watchdog | null = null;
  #stop: Stop | null = null;
  #killTimer: Timer | undefined;
  /** Fleet-wide pub/sub: the relay between workers, and Redis when PUBSUB_URL is set. */
  readonly pubsub: FleetPubSub;
  /** Dev mode listens here (live reload, the watcher's messages); no-ops otherwise. */
  readonly listeners = {
    ready: (_worker: WorkerProcess) => {},
    reloaded: (_outcome: ReloadOutcome) => {},
  };

  constructor(
    private readonly config: FleetConfig,
    private readonly log: Log,
    private readonly onRunning: (primary: Primary, bootMs: number) => void,
  ) {
    this.pubsub = new FleetPubSub(config, log);
    this.#pool = new Pool(config, this, log);
    this.#operations = new Operations(
      this.#pool,
      log,
      () => this.running,
      this.#opened.promise,
      (outcome) => this.listeners.reloaded(outcome),
    );
    const view = () => ({
      pid: process.pid,
      state: this.lifecycle.state,
      startedAt: this.startedAt,
      startWorkers: this.config.workers,
      pool: this.#pool,
      history: this.#operations.history,
      pubsub: this.pubsub.stats(),
    });
    this.#collector = new Collector(view, this.log, config.collectTimeoutMs);
  }

  /** Spawns every worker and extra; resolves with the exit code once the fleet has stopped. */
  run(setup: Json, extras: Required<ExtraProcess>[] = []): Promise<ExitCode> {
    if (this.#stop) {
      this.#finishIfDone();
      return this.#done.promise;
    }
    const pool = this.#pool;
    const { workerTimeoutMs } = this.config;
    const period = heartbeatPeriod(workerTimeoutMs);
    this.#watchdog = new Watchdog(() => pool.live, workerTimeoutMs, period, this.log);
    this.pubsub.start();
    pool.start(setup, extras);
    return this.#done.promise;
  }

  /** HTTP workers currently serving, in slot order. */
  get workers(): WorkerProcess[] {
    return this.#pool.serving;
  }

  /** Extra processes currently running, in declaration order. */
  get extras(): WorkerProcess[] {
    return this.#pool.extras.flatMap((slot) => (slot.current ? [slot.current] : []));
  }

  get starting(): boolean {
    return this.lifecycle.is("starting");
  }

  get running(): boolean {
    return this.lifecycle.is("running");
  }

  get stopping(): boolean {
    return this.#stop !== null;
  }

  /** The stop funnel: the first call wins and drains every process by one deadline. */
  requestStop(reason: StopReason, code: ExitCode = ExitCode.ok): void {
    if (this.#stop) {
      this.log.info(`already stopping (${this.#stop.reason}); ${reason} changes nothing`);
      return;
    }
    this.#stop = { reason, code, startedAt: performance.now() };
    this.lifecycle.to("stopping");
    this.#opened.resolve(); // what is queued is dropped, logged
    this.#pool.cancelRespawns();
    this.#watchdog?.stop();
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    const live = this.#live();
    this.log.info(
      `stopping (${reason}): draining ${live.length} process(es), deadline ${this.config.shutdownTimeoutMs} ms`,
    );
    for (const worker of live) worker.drain(reason, deadline);
    this.#killTimer = setTimeout(
      () => this.#killStragglers(),
      this.config.shutdownTimeoutMs + KILL_GRACE_MS,
    );
    this.#finishIfDone();
  }

  /** Immediate stop (a second Ctrl-C): SIGKILL every process and exit 130. */
  force(): void {
    if (!this.#stop) this.requestStop("SIGINT");
    (this.#stop as Stop).code = ExitCode.forced;
    const live = this.#live();
    this.log.warn(`forced stop: killing ${live.length} process(es) now`);
    for (const worker of live) worker.kill("SIGKILL");
  }

  /** Rolling reload (SIGHUP, POST /admin/reload); asked for while starting, it runs once running. */
  reload(why: string): void {
    if (this.#accepts(`reload (${why})`)) this.#operations.reload(why);
  }

  /** Runs `workers` HTTP workers (POST /admin/scale); never fewer than 1. */
  scale(workers: number, why: string): void {
    this.#scale(() => workers, why);
  }

  /** One more or one fewer HTTP worker (SIGTTIN / SIGTTOU), counted when the change runs. */
  scaleBy(delta: number, why: string): void {
    this.#scale((current) => current + delta, why);
  }

  #scale(target: (current: number) => number, why: string): void {
    if (this.#accepts(`scaling (${why})`)) this.#operations.scale(target, why);
  }

  /** Whether an operation can still be queued; says so when it must wait for the start. */
  #accepts(what: string): boolean {
    if (this.stopping) {
      this.log.info(`${what} ignored: the fleet is ${this.lifecycle.state}`);
      return false;
    }
    if (this.starting) this.log.info(`${what} queued: runs once every worker is ready`);
    return true;
  }

  /** Processes told to drain while the fleet runs on: retiring after a reload, recycle or scale. */
  get retiring(): WorkerProcess[] {
    return this.#live().filter((worker) => worker.lifecycle.is("draining"));
  }

  ready(worker: WorkerProcess): void {
    this.listeners.ready(worker);
    const pool = this.#pool;
    if (!this.starting) return;
    const slots = [...pool.http, ...pool.extras];
    if (slots.every((slot) => slot.current?.lifecycle.is("ready"))) {
      this.lifecycle.to("running");
      this.onRunning(this, performance.now() - this.#bootStartedAt);
      this.#opened.resolve();
    }
  }

  stopRequested(worker: WorkerProcess, reason: StopReason): void {
    this.log.info(`${worker.name} asks the fleet to stop (${reason})`);
    this.requestStop(reason);
  }

  reloadRequested(worker: WorkerProcess): void {
    this.reload(`requested by ${worker.name}`);
  }

  scaleRequested(worker: WorkerProcess, workers: number): void {
    this.scale(workers, `requested by ${worker.name}`);
  }

  collectRequested(worker: WorkerProcess, id: number, what: Collected): void {
    void this.#collector.collect(what).then(({ ok, body }) => worker.reply(id, ok, body));
  }

  recycle(worker: WorkerProcess, reason: "max-requests" | "max-memory"): void {
    const slot = this.#pool.http.find((s) => s.current === worker);
    if (slot && !this.stopping) this.#operations.recycle(slot, `${worker.name} reached ${reason}`);
  }

  spawned(worker: WorkerProcess): void {
    if (worker.init.role === "http") this.pubsub.hub.add(worker);
  }

  published(_worker: WorkerProcess, publication: Publication): void {
    this.pubsub.hub.fromWorker(publication);
  }

  pubsubAck(worker: WorkerProcess, bytes: number): void {
    this.pubsub.hub.ack(worker, bytes);
  }

  meshListening(worker: WorkerProcess, path: string): void {
    if (worker.init.role !== "http") return;
    const answer = this.pubsub.listening(worker, path);
    if (answer) worker.meshPeers(answer);
  }

  pubsubCounts(counts: { published: number; relayed: number; dropped: number }): void {
    this.pubsub.counted(counts);
  }

  bootFailed(worker: WorkerProcess, why: string): void {
    this.log.error(`${worker.name} failed to boot: ${why}`);
    this.requestStop("boot-failure", ExitCode.bootFailure);
  }

  crashLooped(_worker: WorkerProcess, why: string): void {
    this.log.error(`${why}, stopping the fleet (exit ${ExitCode.crashLoop})`);
    this.requestStop("crash-loop", ExitCode.crashLoop);
  }

  exited(worker: WorkerProcess, exit: WorkerExit): void {
    this.pubsub.hub.remove(worker);
    this.pubsub.left(worker);
    this.#pool.exited(worker, exit);
    const stop = this.#stop;
    if (!stop) return;
    if (exit.code === WorkerExitCode.forced && stop.code === ExitCode.ok)
      stop.code = ExitCode.deadline;
    const clean = exit.code === WorkerExitCode.ok;
    const line = `${worker.name} ${clean ? "drained and exited" : describeExit(exit)}`;
    if (clean || stop.code === ExitCode.forced) this.log.info(line);
    else this.log.warn(line);
    this.#finishIfDone();
  }

  #live(): WorkerProcess[] {
    return this.#pool.live;
  }

  #killStragglers(): void {
    const stop = this.#stop as Stop;
    const live = this.#live();
    this.log.error(`shutdown deadline passed: killing ${live.map((w) => w.name).join(", ")}`);
    if (stop.code === ExitCode.ok) stop.code = ExitCode.deadline;
    for (const worker of live) worker.kill("SIGKILL");
  }

  #finishIfDone(): void {
    const stop = this.#stop;
    if (!stop || this.#live().length > 0 || this.lifecycle.is("stopped")) return;
    clearTimeout(this.#killTimer);
    this.pubsub.stop();
    this.lifecycle.to("stopped");
    const ms = Math.round(performance.now() - stop.startedAt);
    this.log.info(`stopped (${stop.reason}) in ${ms} ms; exit ${stop.code}`);
    this.#done.resolve(stop.code);
  }
}
