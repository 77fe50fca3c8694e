import type { FleetWorker } from "../../workers/fleet.ts";

/**
 * A `FleetWorker` for unit tests that build the app without a fleet; `over` sets fields. Its
 * `consume` keeps budgets in memory (one process: what the primary does for a fleet), its
 * `clientAddress` answers the request's `x-test-client` header (default 127.0.0.1).
 */
export function fakeWorker(over: Partial<FleetWorker> = {}): FleetWorker {
  const windows = new Map<string, { used: number; resetAt: number }>();
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
    consume: (key, limit, windowMs) => {
      const now = Date.now();
      let window = windows.get(key);
      if (!window || window.resetAt <= now) {
        window = { used: 0, resetAt: now + windowMs };
        windows.set(key, window);
      }
      window.used += 1;
      const allowed = window.used <= limit;
      return { allowed, remaining: Math.max(0, limit - window.used), resetAt: window.resetAt };
    },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    ...over,
  };
}
