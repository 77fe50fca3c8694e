import type { FleetWorker } from "../../workers/fleet.ts";

/** A `FleetWorker` for unit tests that build the app without a fleet; `over` sets fields. */
export function fakeWorker(over: Partial<FleetWorker> = {}): FleetWorker {
  return {
    index: 0,
    pid: 1,
    context: null,
    setup: null,
    config: {},
    draining: false,
    signal: new AbortController().signal,
    requestStop: () => {},
    publish: () => {},
    subscribe: () => () => {},
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    ...over,
  };
}
