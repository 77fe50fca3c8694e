import type { FleetCount, FleetWorker } from "../../workers/fleet.ts";

/**
 * A `FleetWorker` for unit tests that build the app without a fleet; `over` sets fields. Its
 * `countHit` counts in memory (one process: what the primary does for a fleet), its
 * `clientAddress` answers the request's `x-test-client` header (default 127.0.0.1).
 */
export function fakeWorker(over: Partial<FleetWorker> = {}): FleetWorker {
  const windows = new Map<string, FleetCount>();
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
    clientAddress: (request) => request.headers.get("x-test-client") ?? "127.0.0.1",
    countHit: async (key, windowMs) => {
      const now = Date.now();
      let window = windows.get(key);
      if (!window || window.resetAt <= now) window = { count: 0, resetAt: now + windowMs };
      windows.set(key, { count: window.count + 1, resetAt: window.resetAt });
      return { count: window.count + 1, resetAt: window.resetAt };
    },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    ...over,
  };
}
