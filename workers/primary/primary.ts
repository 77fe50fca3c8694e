import { ChildExitCode, ExitCode } from "../exit-codes.ts";
import type { ExtraProcess, Json, StopReason } from "../fleet.ts";
import { Lifecycle, PRIMARY_TRANSITIONS, type PrimaryState } from "../lifecycle.ts";
import type { Log } from "../log.ts";
import type { FleetConfig } from "./config/config.ts";
import { Collector } from "./observe/collector.ts";
import { FleetHistory, sampleHistory } from "./observe/history.ts";
import type { FleetView } from "./observe/sample.ts";
import { Operations, type ReloadOutcome } from "./operations.ts";
import { heartbeatPeriod, KILL_GRACE_MS, Pool, type PoolOwner } from "./pool.ts";
import { FleetPubSub } from "./pubsub/index.ts";
import { Watchdog } from "./watchdog.ts";
import {
  type ChildExit,
  type ChildProcess,
  type ChildRoutes,
  describeExit,
  type SpawnChild,
  spawnChild,
} from "./worker-process.ts";

export { KILL_GRACE_MS };

interface Stop {
  reason: StopReason;
  code: ExitCode;
  startedAt: number;
}

/** What others (dev mode) can listen for: a worker became ready, a rolling reload ended. */
export interface PrimaryEvents {
  ready: (worker: ChildProcess) => void;
  reloaded: (outcome: ReloadOutcome) => void;
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
  /** The last 15 minutes, one sample a second (GET /admin/history). */
  readonly #history = new FleetHistory();
  #stopSampling = () => {};
  readonly #view: () => FleetView;
  #watchdog: Watchdog | null = null;
  #stop: Stop | null = null;
  #killTimer: Timer | undefined;
  /** The setup process while it runs: a stop waits for it by the deadline, a forced one kills it. */
  #setupProcess: { pid: number; kill(signal: NodeJS.Signals): void } | null = null;
  /** Fleet-wide pub/sub: the relay between workers, and Redis when PUBSUB_URL is set. */
  readonly pubsub: FleetPubSub;
  readonly #listeners: { [E in keyof PrimaryEvents]: PrimaryEvents[E][] } = {
    ready: [],
    reloaded: [],
  };
  /** What each message a worker sends the supervisor does: one typed table, built once here. */
  readonly routes: ChildRoutes;

  constructor(
    private readonly config: FleetConfig,
    private readonly log: Log,
    private readonly onRunning: (primary: Primary, bootMs: number) => void,
    spawn: SpawnChild = spawnChild,
  ) {
    this.pubsub = new FleetPubSub(config, log);
    const hub = this.pubsub.hub;
    this.routes = {
      "stop-requested": (worker, { reason }) => {
        this.log.info(`${worker.name} asks the fleet to stop (${reason})`);
        this.requestStop(reason);
      },
      "reload-requested": (worker) => this.reload(`requested by ${worker.name}`),
      "scale-requested": (worker, m) => this.scale(m.workers, `requested by ${worker.name}`),
      recycle: (worker, m) => this.#recycle(worker, m.reason),
      "collect-request": (worker, { id, what }) =>
        void this.#collector.collect(what).then(({ ok, body }) => worker.reply(id, ok, body)),
      "history-request": (worker, { id, since }) =>
        worker.reply(id, true, JSON.stringify(this.#history.json(since))),
      // Its app called `worker.publish` (delivered in the fleet already; sent here for Redis).
      publish: (_worker, { topic, data, binary }) => hub.fromWorker({ topic, data, binary }),
      "pubsub-ack": (worker, m) => hub.ack(worker, m.bytes),
      // Its pub/sub mesh socket listens at `path`: tell it its siblings.
      "pubsub-listening": (worker, m) => {
        if (worker.init.extra) return;
        const answer = this.pubsub.listening(worker, m.path);
        if (answer) worker.meshPeers(answer);
      },
      // Pub/sub counts since its last report.
      "pubsub-counts": (_worker, { published, relayed, dropped }) =>
        this.pubsub.counted({ published, relayed, dropped }),
    };
    this.#pool = new Pool(config, this, log, spawn);
    this.#operations = new Operations(
      this.#pool,
      log,
      () => this.running,
      this.#opened.promise,
      (outcome) => {
        for (const listener of this.#listeners.reloaded) listener(outcome);
      },
    );
    this.#view = () => ({
      pid: process.pid,
      state: this.lifecycle.state,
      startedAt: this.startedAt,
      startWorkers: this.config.workers,
      pool: this.#pool,
      history: this.#operations.history,
      pubsub: this.pubsub.stats(),
    });
    this.#collector = new Collector(this.#view, this.log, config.collectTimeoutMs);
  }

  /** Calls `listener` on every `event` from now on (dev mode: live reload, its log lines). */
  on<E extends keyof PrimaryEvents>(event: E, listener: PrimaryEvents[E]): void {
    this.#listeners[event].push(listener);
  }

  /** Spawns every worker and extra; resolves with the exit code once the fleet has stopped. */
  run(
    setup: Json,
    extras: Required<ExtraProcess>[] = [],
    appConfig: { [env: string]: Json } = {},
  ): Promise<ExitCode> {
    if (this.#stop) {
      this.#finishIfDone();
      return this.#done.promise;
    }
    const pool = this.#pool;
    const { workerTimeoutMs } = this.config;
    const period = heartbeatPeriod(workerTimeoutMs);
    this.#watchdog = new Watchdog(() => pool.live, workerTimeoutMs, period, this.log);
    this.pubsub.start();
    pool.start(setup, extras, appConfig);
    this.#stopSampling = sampleHistory(
      this.#history,
      () => this.#collector.samples(),
      this.#view,
      (error) => this.log.error(`history sample failed: ${(error as Error).stack ?? error}`),
    );
    return this.#done.promise;
  }

  /** HTTP workers currently serving, in slot order. */
  get workers(): ChildProcess[] {
    return this.#pool.serving;
  }

  /** Extra processes currently running, in declaration order. */
  get extras(): ChildProcess[] {
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

  /** The setup process runs (main.ts): it is one of the fleet's processes until it exits. */
  setupStarted(proc: { pid: number; kill(signal: NodeJS.Signals): void }): void {
    this.#setupProcess = proc;
  }

  /** The setup process exited; a stop asked for meanwhile can finish now. */
  setupEnded(): void {
    this.#setupProcess = null;
    this.#finishIfDone();
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
    this.#stopSampling();
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    const live = this.#live();
    // A setup process is not drained: it finishes setup (by the deadline), then no worker starts.
    const setup = this.#setupProcess ? " and waiting for the setup process" : "";
    this.log.info(
      `stopping (${reason}): draining ${live.length} process(es)${setup}, deadline ${this.config.shutdownTimeoutMs} ms`,
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
    const setup = this.#setupProcess;
    this.log.warn(
      `forced stop: killing ${live.length + (setup ? 1 : 0)} process(es) now${setup ? ` : the setup process (pid ${setup.pid})` : ""}`,
    );
    for (const worker of live) worker.kill("SIGKILL");
    setup?.kill("SIGKILL");
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
  get retiring(): ChildProcess[] {
    return this.#live().filter((worker) => worker.lifecycle.is("draining"));
  }

  ready(worker: ChildProcess): void {
    for (const listener of this.#listeners.ready) listener(worker);
    const pool = this.#pool;
    if (!this.starting) return;
    const slots = [...pool.http, ...pool.extras];
    if (slots.every((slot) => slot.current?.lifecycle.is("ready"))) {
      this.lifecycle.to("running");
      this.onRunning(this, performance.now() - this.#bootStartedAt);
      this.#opened.resolve();
    }
  }

  #recycle(worker: ChildProcess, reason: "max-requests" | "max-memory"): void {
    const slot = this.#pool.http.find((s) => s.current === worker);
    if (slot && !this.stopping) this.#operations.recycle(slot, `${worker.name} reached ${reason}`);
  }

  spawned(worker: ChildProcess): void {
    if (!worker.init.extra) this.pubsub.hub.add(worker);
  }

  bootFailed(worker: ChildProcess, why: string): void {
    this.log.error(`${worker.name} failed to boot: ${why}`);
    this.requestStop("boot-failure", ExitCode.bootFailure);
  }

  crashLooped(_worker: ChildProcess, why: string): void {
    this.log.error(`${why}, stopping the fleet (exit ${ExitCode.crashLoop})`);
    this.requestStop("crash-loop", ExitCode.crashLoop);
  }

  exited(worker: ChildProcess, exit: ChildExit): void {
    this.pubsub.hub.remove(worker);
    this.pubsub.left(worker);
    this.#pool.exited(worker, exit);
    const stop = this.#stop;
    if (!stop) return;
    if (exit.code === ChildExitCode.forced && stop.code === ExitCode.ok)
      stop.code = ExitCode.deadline;
    const clean = exit.code === ChildExitCode.ok;
    const line = `${worker.name} ${clean ? "drained and exited" : describeExit(exit)}`;
    if (clean || stop.code === ExitCode.forced) this.log.info(line);
    else this.log.warn(line);
    this.#finishIfDone();
  }

  #live(): ChildProcess[] {
    return this.#pool.live;
  }

  #killStragglers(): void {
    const stop = this.#stop as Stop;
    const live = this.#live();
    const setup = this.#setupProcess;
    const names = live.map((w) => w.name);
    if (setup) names.push(`the setup process (pid ${setup.pid})`);
    this.log.error(`shutdown deadline passed: killing ${names.join(", ")}`);
    if (stop.code === ExitCode.ok) stop.code = ExitCode.deadline;
    for (const worker of live) worker.kill("SIGKILL");
    setup?.kill("SIGKILL");
  }

  #finishIfDone(): void {
    const stop = this.#stop;
    if (!stop || this.#live().length > 0 || this.#setupProcess || this.lifecycle.is("stopped")) {
      return;
    }
    clearTimeout(this.#killTimer);
    this.pubsub.stop();
    this.lifecycle.to("stopped");
    const ms = Math.round(performance.now() - stop.startedAt);
    this.log.info(`stopped (${stop.reason}) in ${ms} ms; exit ${stop.code}`);
    this.#done.resolve(stop.code);
  }
}
