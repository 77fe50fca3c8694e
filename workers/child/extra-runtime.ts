import { ChildExitCode } from "../exit-codes.ts";
import type { ExtraContext, StopReason } from "../fleet.ts";
import { logFormat } from "../log.ts";
import type { ChildInit } from "../worker-init.ts";
import { headline, sourceErrors, withCodeFrames } from "./build-errors.ts";
import { ChildRuntime } from "./child-runtime.ts";

type ExtraMain = (extra: ExtraContext) => unknown;

/**
 * An extra (non-HTTP) process from the inside: runs the module's default export with an
 * AbortSignal, aborts it on drain, and exits once it returns (or at the deadline).
 */
export class ExtraRuntime extends ChildRuntime {
  readonly #abort = new AbortController();
  #running: Promise<unknown> = Promise.resolve();
  /** The drain's deadline, for `deadline` in the context (a job finishes or is released by it). */
  #deadline = Number.POSITIVE_INFINITY;

  constructor(
    init: ChildInit,
    private readonly extra: { name: string; module: string },
  ) {
    super(init, `extra ${extra.name}#${init.index}`, { extra: extra.name, index: init.index });
  }

  async boot(): Promise<void> {
    this.connect();
    let main: ExtraMain;
    try {
      const mod: { default?: unknown } = await import(this.extra.module);
      if (typeof mod.default !== "function") {
        throw new Error(
          `extra "${this.extra.name}": its module must \`export default\` a function`,
        );
      }
      main = mod.default as ExtraMain;
    } catch (error) {
      const built = sourceErrors(error);
      const text = built.length ? headline(built) : (error as Error).message;
      this.log.error(...withCodeFrames(`failed to boot: ${text}`, built, logFormat()));
      this.channel.send({ kind: "boot-failed", error: text });
      return this.exit(ChildExitCode.bootFailure);
    }
    const runtime = this;
    const context: ExtraContext = {
      get deadline() {
        return runtime.#deadline;
      },
      name: this.extra.name,
      index: this.init.index,
      setup: this.init.setup,
      config: this.init.config,
      signal: this.#abort.signal,
      requestStop: (reason?: string) => this.requestStop(`app:${reason || "requested"}`),
      log: this.log,
    };
    this.#running = Promise.resolve().then(() => main(context));
    this.lifecycle.to("ready");
    this.channel.send({ kind: "ready" });
    this.#running.then(
      () => {
        if (this.lifecycle.is("ready")) this.exit(ChildExitCode.ok); // returned unasked: respawned
      },
      (error: unknown) => {
        this.log.error(`threw: ${(error as Error).stack ?? error}`);
        if (this.lifecycle.is("ready")) this.exit(1);
      },
    );
  }

  /** Aborts the run, waits for it to return until `deadline`, then exits. Idempotent. */
  override async drain(reason: StopReason, deadline: number): Promise<void> {
    if (!this.lifecycle.can("draining")) return;
    this.lifecycle.to("draining");
    this.#deadline = deadline;
    this.#abort.abort(reason);
    const settled = this.#running.then(
      () => true,
      () => true,
    );
    const timeout = Bun.sleep(Math.max(0, deadline - Date.now())).then(() => false);
    const finished = await Promise.race([settled, timeout]);
    if (!finished) this.log.warn("did not return by the deadline after its signal was aborted");
    this.exit(finished ? ChildExitCode.ok : ChildExitCode.forced);
  }
}
