import { SseStreams } from "../../workers/child/http/sse.ts";
import type { FleetWorker } from "../../workers/fleet.ts";

/**
 * A `FleetWorker` for unit tests that build the app without a fleet; `over` sets fields. Its
 * `sse` is the runtime's own, on whatever `signal` and `subscribe` the worker it is called on has
 * (so `{ ...fakeWorker(), signal }` works).
 * `consume` keeps budgets in memory (one process: what the primary does for a fleet), its
 * `clientAddress` answers the request's `x-test-client` header (default 127.0.0.1), and
 * `fromTrustedProxy` is true for a request with `x-test-trusted: 1`.
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
    sse(this: FleetWorker, request, topics, options) {
      const { subscribe, signal, log } = this;
      const defaults = { heartbeatMs: 15_000, maxBufferedBytes: 1 << 20, idleTimeoutS: 0 };
      const parts = { subscribe, signal, log, ...defaults };
      return new SseStreams(parts).open(request, topics, options);
    },
    clientAddress: (request) => request.headers.get("x-test-client") ?? "127.0.0.1",
    fromTrustedProxy: (request) => request.headers.get("x-test-trusted") === "1",
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

/** In-process `publish` and `subscribe` (one worker's view of pub/sub), for a `fakeWorker`. */
export function localPubSub(): Pick<FleetWorker, "publish" | "subscribe"> {
  const topics = new Map<string, Set<(data: string | Uint8Array, topic: string) => void>>();
  return {
    publish(topic, data) {
      const copy =
        typeof data === "string"
          ? data
          : ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
            : new Uint8Array(data.slice(0));
      for (const handler of topics.get(topic) ?? []) handler(copy, topic);
    },
    subscribe(topic, handler) {
      const set = topics.get(topic) ?? new Set();
      topics.set(topic, set);
      set.add(handler);
      return () => set.delete(handler);
    },
  };
}
