import { freshFetch } from "./fleet.ts";

/** What a request loop saw. */
export interface LoopResult {
  ok: number;
  failed: number;
  /** Of the failed, those answered with a status outside 2xx (the rest never got a response). */
  non2xx: number;
  /** The first failures, as `status <n>` or the error's message. */
  failures: string[];
  /** Response bodies seen, with counts (to tell old code from new). */
  bodies: Map<string, number>;
}

/**
 * Requests `url` back to back until `stop()` is called: `keepAlive` clients reuse their
 * connection, `fresh` clients open a new one per request. Any status but 2xx, and any error,
 * counts as failed.
 */
export function requestLoop(
  url: string,
  { keepAlive = 1, fresh = 1, timeoutMs = 5000 } = {},
): { stop: () => Promise<LoopResult>; result: LoopResult } {
  const result: LoopResult = { ok: 0, failed: 0, non2xx: 0, failures: [], bodies: new Map() };
  let running = true;
  const fail = (why: string) => {
    result.failed++;
    if (result.failures.length < 20) result.failures.push(why);
  };
  const client = async (newConnection: boolean) => {
    const kind = newConnection ? "new connection" : "keep-alive";
    while (running) {
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        const res = await (newConnection ? freshFetch(url, { signal }) : fetch(url, { signal }));
        const body = await res.text();
        if (res.status < 200 || res.status > 299) {
          result.non2xx++;
          fail(`${kind}: status ${res.status}: ${body.slice(0, 200)}`);
          continue;
        }
        result.ok++;
        result.bodies.set(body, (result.bodies.get(body) ?? 0) + 1);
      } catch (error) {
        fail(`${kind}: ${(error as Error).message}`);
      }
    }
  };
  const clients = [
    ...Array.from({ length: keepAlive }, () => client(false)),
    ...Array.from({ length: fresh }, () => client(true)),
  ];
  return {
    result,
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return result;
    },
  };
}
