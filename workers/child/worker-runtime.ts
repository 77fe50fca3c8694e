import type { Server } from "bun";
import { ClientAddress } from "../client-address.ts";
import { ChildExitCode } from "../exit-codes.ts";
import type { FleetHooks, FleetWorker, SseOptions, StopReason } from "../fleet.ts";
import { logFormat } from "../log.ts";
import type { PrimaryMessage, Publication } from "../protocol.ts";
import type { PublishData } from "../pubsub.ts";
import { appStatsProblem, type ChildSnapshot } from "../snapshot.ts";
import type { ChildInit } from "../worker-init.ts";
import { headline, sourceErrors, withCodeFrames } from "./build-errors.ts";
import { ChildRuntime } from "./child-runtime.ts";
import { stopServer } from "./http/drain.ts";
import { fleetRoutes } from "./http/fleet-routes.ts";
import { LiveReload } from "./http/live-reload.ts";
import { loadApp, loadHooks } from "./http/loading.ts";
import { peerAddress } from "./http/peer.ts";
import type { RequestMeter } from "./http/request-meter.ts";
import { serve } from "./http/serve.ts";
import { SseStreams } from "./http/sse.ts";
import { OpenSockets } from "./http/websockets.ts";
import { type MessageHandler, WorkerPubSub } from "./pubsub.ts";
import { QuotaLeases } from "./quota-leases.ts";

/** One HTTP worker, from the inside: boot, serve, drain, exit. */
export class WorkerRuntime extends ChildRuntime {
  readonly worker: FleetWorker;
  #server: Server<never> | null = null;
  readonly #sockets = new OpenSockets();
  /** `worker.signal`: aborted when the drain begins. */
  readonly #abort = new AbortController();
  #hooks: FleetHooks = {};
  #meter: RequestMeter | null = null;
  #statsWarned = false;
  /** Read on every response (Connection: close), so a plain field, not a lifecycle query. */
  #draining = false;
  /** Fleet-wide pub/sub from this worker's side (its counters: `pubsub.stats`). */
  readonly pubsub = new WorkerPubSub(this.channel, this.init.index, this.log);
  /** Live-reload streams; dev mode only. */
  readonly #liveReload: LiveReload | null;
  /** `worker.sse` streams, counted for status and metrics. */
  readonly #sse: SseStreams;
  /** `worker.consume`: leases of the primary's shared budgets. */
  readonly #quotas = new QuotaLeases(this.channel, this.init.collectTimeoutMs);
  /** TRUSTED_PROXIES, read once. */
  readonly #clients: ClientAddress;

  constructor(init: ChildInit) {
    super(init, `worker ${init.index}`, { worker: init.index });
    this.#liveReload = init.dev ? new LiveReload() : null;
    this.#clients = new ClientAddress(init.trustedProxies, init.forwardedHeader);
    const runtime = this;
    this.#sse = new SseStreams({
      subscribe: (topic, handler) => this.pubsub.subscribe(topic, handler),
      signal: this.#abort.signal,
      heartbeatMs: init.sseHeartbeatMs,
      maxBufferedBytes: init.sseMaxBufferedBytes,
      idleTimeoutS: init.idleTimeoutS,
      log: this.log,
    });
    this.worker = Object.freeze({
      index: init.index,
      pid: process.pid,
      context: init.context,
      setup: init.setup,
      config: init.config,
      get draining() {
        return runtime.#draining;
      },
      signal: this.#abort.signal,
      requestStop: (reason?: string) => runtime.requestStop(`app:${reason || "requested"}`),
      publish: (topic: string, data: PublishData) => runtime.pubsub.publish(topic, data),
      subscribe: (topic: string, handler: MessageHandler) =>
        runtime.pubsub.subscribe(topic, handler),
      sse: (request: Request, topics: string | readonly string[], options?: SseOptions) =>
        runtime.#sse.open(request, topics, options),
      clientAddress: (request: Request) => runtime.clientAddress(request),
      fromTrustedProxy: (request: Request) => runtime.fromTrustedProxy(request),
      consume: (key: string, limit: number, windowMs: number) =>
        runtime.#quotas.consume(key, limit, windowMs),
      log: this.log,
    });
  }

  /** Wires IPC and signals, then loads the app, runs onStart, listens and reports ready. */
  async boot(): Promise<void> {
    this.connect();
    try {
      await this.pubsub.join();
      this.#hooks = await loadHooks(this.init.hooksModule);
      const app = await loadApp(this.init.appModule, this.worker);
      const send = this.channel.send.bind(this.channel);
      const fleet = fleetRoutes({
        adminToken: this.init.adminToken,
        isDraining: () => this.#draining,
        requestStop: (reason) => this.requestStop(reason),
        requestReload: () => send({ kind: "reload-requested" }),
        requestScale: (workers) => send({ kind: "scale-requested", workers }),
        observe: {
          metricsPublic: this.init.metricsPublic,
          collect: (what) => this.collect(what),
          history: (since) => this.history(since),
        },
        jobs: this.#hooks.jobs && (() => this.#hooks.jobs?.(this.worker)),
      });
      // onStart first, listening after: with reusePort the kernel hands connections only to
      // sockets that listen, so no request (nor /readyz) reaches an app whose onStart (its
      // database, its caches) has not resolved. Nothing here needs the server before it:
      // `worker.publish` reaches the mesh and Redis, and local WebSockets cannot exist yet.
      await this.#hooks.onStart?.(this.worker);
      if (!this.lifecycle.is("booting")) return; // a drain arrived during onStart: never listen
      const { server, meter } = serve(app, this.init, {
        fleet,
        isDraining: () => this.#draining,
        sockets: this.#sockets,
        access: {
          name: this.name,
          bound: this.bound,
          client: (request) => this.clientAddress(request),
        },
        onLimit: () => this.#askToRecycle(this.init.maxRequests),
        liveReload: this.#liveReload,
      });
      this.#server = server;
      this.#meter = meter;
      this.pubsub.attach(this.#server);
    } catch (error) {
      return this.#bootFailed(error);
    }
    if (!this.lifecycle.can("ready")) return; // a drain arrived while booting
    this.lifecycle.to("ready");
    this.channel.send({ kind: "ready" });
  }

  /**
   * Aborts `worker.signal`; answers `Connection: close` for `windowMs` while still listening (a
   * retiring worker, whose siblings serve), then stops accepting, closes WebSockets with 1001 and
   * lets in-flight requests finish until `deadline`; cuts what is left, runs onShutdown and
   * exits. Idempotent.
   */
  override async drain(reason: StopReason, deadline: number, windowMs = 0): Promise<void> {
    if (!this.lifecycle.can("draining")) return;
    const booting = this.lifecycle.is("booting");
    this.lifecycle.to("draining");
    this.#draining = true;
    this.pubsub.unsubscribeAll();
    this.#abort.abort(reason);
    this.#liveReload?.close(); // open event streams would hold the server open until the deadline
    if (booting) return this.exit(ChildExitCode.ok); // never served: nothing to drain or hook
    const server = this.#server;
    const forced = server
      ? await stopServer(server, this.#sockets, deadline, windowMs, this.log)
      : false;
    try {
      await this.#hooks.onShutdown?.(reason, this.worker, deadline);
    } catch (error) {
      this.log.error(`onShutdown hook threw: ${(error as Error).stack ?? error}`);
    }
    this.pubsub.flush();
    this.exit(forced ? ChildExitCode.forced : ChildExitCode.ok);
  }

  /** `worker.clientAddress`: the peer, or behind TRUSTED_PROXIES the client they name. */
  clientAddress(request: Request): string {
    const peer = this.#server && peerAddress(this.#server, request);
    if (!peer) return "unknown";
    if (!this.#clients.enabled) return this.#clients.resolve(peer, null);
    return this.#clients.resolve(peer, request.headers.get(this.#clients.header));
  }

  /** `worker.fromTrustedProxy`: the peer is one of TRUSTED_PROXIES. */
  fromTrustedProxy(request: Request): boolean {
    if (!this.#clients.enabled) return false;
    const peer = this.#server && peerAddress(this.#server, request);
    return !!peer && this.#clients.trusts(peer);
  }

  protected override tokens(m: Extract<PrimaryMessage, { kind: "tokens" }>): void {
    this.#quotas.settle(m.id, m);
  }

  protected override received(publication: Publication): void {
    this.pubsub.receive(publication);
  }

  protected override meshPeers(m: Extract<PrimaryMessage, { kind: "pubsub-peers" }>): void {
    this.pubsub.peers(m.peers, m.remote, m.maxLagBytes);
  }

  override snapshot(): ChildSnapshot {
    this.pubsub.reportCounts(); // sent before the snapshot, so the primary's totals include them
    const numbers = this.#meter ? this.#meter.snapshot() : super.snapshot();
    const app = this.#appStats();
    const sse = { sseStreams: this.#sse.size, sseCut: this.#sse.cut };
    return { ...numbers, websockets: this.#sockets.size, ...sse, ...(app && { app }) };
  }

  /** The hooks module's `stats`, checked; a throw or a bad shape is logged once and skipped. */
  #appStats(): ChildSnapshot["app"] | null {
    if (!this.#hooks.stats) return null;
    let problem: string | null;
    let value: unknown;
    try {
      value = this.#hooks.stats(this.worker);
      problem = appStatsProblem(value);
    } catch (error) {
      problem = `threw: ${(error as Error).message}`;
    }
    if (!problem) return value as ChildSnapshot["app"];
    if (!this.#statsWarned)
      this.log.warn(`stats hook: ${problem} (left out of status and metrics)`);
    this.#statsWarned = true;
    return null;
  }

  protected override liveReload(generation: number): void {
    this.#liveReload?.update(generation);
  }

  #askToRecycle(limit: number): void {
    this.log.info(`served ${limit} requests (MAX_REQUESTS): asking to be recycled`);
    this.channel.send({ kind: "recycle", reason: "max-requests" });
  }

  #bootFailed(error: unknown): void {
    const text = describeBootError(error, this.init);
    const built = sourceErrors(error);
    if (built.length) {
      // A syntax error has no stack worth printing: its places and code frames, once.
      this.log.error(...withCodeFrames(`failed to boot: ${text}`, built, logFormat()));
    } else {
      this.log.error(`failed to boot: ${text}`);
      if (!(error as { code?: string }).code) console.error(error); // the app's stack, for its author
    }
    this.channel.send({ kind: "boot-failed", error: text });
    this.#server?.stop(true);
    this.exit(ChildExitCode.bootFailure);
  }
}

/** A boot error in words an operator can act on. */
export function describeBootError(error: unknown, init: Pick<ChildInit, "port" | "host">): string {
  const code = (error as { code?: string }).code;
  if (code === "EADDRINUSE") {
    return `port ${init.port} on ${init.host} is already in use by a process that did not set SO_REUSEPORT (another server?)`;
  }
  if (code === "EACCES") return `no permission to bind port ${init.port} on ${init.host}`;
  if (code === "EADDRNOTAVAIL") return `cannot bind ${init.host}: no such local address`;
  // Bun's syntax errors (BuildMessage) carry where they are in `position`, not in the message.
  const built = sourceErrors(error);
  if (built.length) return headline(built);
  return error instanceof Error ? error.message : String(error);
}
