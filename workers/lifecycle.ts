/**
 * The two lifecycles and every allowed transition, in one place. A transition not listed
 * here is a bug, so `Lifecycle.to` throws rather than quietly moving on.
 */

export type PrimaryState = "starting" | "running" | "stopping" | "stopped";
export type ChildState = "booting" | "ready" | "draining" | "exited";

type Transitions<S extends string> = { readonly [K in S]: readonly S[] };

export const PRIMARY_TRANSITIONS: Transitions<PrimaryState> = {
  starting: ["running", "stopping"],
  running: ["stopping"],
  stopping: ["stopped"],
  stopped: [],
};

export const CHILD_TRANSITIONS: Transitions<ChildState> = {
  booting: ["ready", "draining", "exited"],
  ready: ["draining", "exited"],
  draining: ["exited"],
  exited: [],
};

/** A state holder that only moves along its transition table. */
export class Lifecycle<S extends string> {
  #state: S;

  constructor(
    initial: S,
    private readonly transitions: Transitions<S>,
  ) {
    this.#state = initial;
  }

  get state(): S {
    return this.#state;
  }

  /** True when `next` is reachable from the current state in one step. */
  can(next: S): boolean {
    return this.transitions[this.#state].includes(next);
  }

  /** Moves to `next`; throws on a transition the table does not allow. */
  to(next: S): void {
    if (!this.can(next)) throw new Error(`illegal transition ${this.#state} -> ${next}`);
    this.#state = next;
  }

  is(...states: S[]): boolean {
    return states.includes(this.#state);
  }
}
