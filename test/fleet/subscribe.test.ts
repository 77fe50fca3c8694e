import { describe, expect, test } from "bun:test";
import {
  FIXTURES,
  type Fleet,
  freshFetch,
  NO_EXTRAS,
  startReadyFleet,
  waitFor,
} from "../helpers/fleet.ts";
import { startRedis } from "../helpers/redis.ts";

const APP = { APP_MODULE: `${FIXTURES}/subscribe-app.ts`, ...NO_EXTRAS };

type Received = { worker: number; pid: number; received: { topic: string; data: unknown }[] };

/** Until a fresh connection lands on worker `index`: its answer to `path`. */
async function on(fleet: Fleet, index: number, path: string, method = "GET"): Promise<Response> {
  const url = fleet.url(`${path}${path.includes("?") ? "&" : "?"}worker=${index}`);
  return waitFor(`worker ${index} to answer ${path}`, async () => {
    const res = await freshFetch(url, { method });
    return res.status === 409 ? null : res;
  });
}

const receivedOn = async (fleet: Fleet, index: number) =>
  (await (await on(fleet, index, "/received")).json()) as Received;

describe("worker.subscribe", () => {
  test("handlers on every worker get what any worker publishes, once, in order; unsubscribe stops it", async () => {
    const fleet = await startReadyFleet({ env: APP });
    try {
      expect((await on(fleet, 0, "/publish?n=200", "POST")).status).toBe(200);
      expect((await on(fleet, 0, "/publish?binary=1", "POST")).status).toBe(200);
      const expected = [
        ...Array.from({ length: 200 }, (_, k) => ({ topic: "news", data: `0:${k}` })),
        { topic: "news", data: [0, 0] },
      ];
      for (const index of [1, 0]) {
        await waitFor(`worker ${index}'s handler to get 201 messages`, async () => {
          return (await receivedOn(fleet, index)).received.length >= 201;
        });
        expect((await receivedOn(fleet, index)).received).toEqual(expected);
      }

      // Worker 1 unsubscribes from news; control is still subscribed there. Per publisher order
      // puts any news published before the control message ahead of it.
      expect((await on(fleet, 1, "/unsubscribe?topic=news", "POST")).status).toBe(200);
      await on(fleet, 0, "/publish?topic=news&n=3", "POST");
      await on(fleet, 0, "/publish?topic=control", "POST");
      await waitFor("worker 1 to get the control message", async () =>
        (await receivedOn(fleet, 1)).received.some((m) => m.topic === "control"),
      );
      const after = (await receivedOn(fleet, 1)).received.slice(201);
      expect(after).toEqual([{ topic: "control", data: "0:0" }]);
      await waitFor("worker 0 (still subscribed) to get all of them", async () => {
        return (await receivedOn(fleet, 0)).received.length === 205;
      });
    } finally {
      fleet.kill("SIGTERM");
    }
    expect(await fleet.exited).toBe(0);
  });

  test("a draining worker's handlers get nothing more, while its siblings still do", async () => {
    const fleet = await startReadyFleet({ env: { ...APP, DRAIN_WINDOW_MS: "0" } });
    try {
      const before = await Promise.all([receivedOn(fleet, 0), receivedOn(fleet, 1)]);
      fleet.kill("SIGHUP"); // each old worker drains in turn; on drain it publishes "bye from <pid>"
      await waitFor("the reload to complete", () =>
        fleet.stderr().includes("reload (SIGHUP) complete"),
      );
      const logs = () => fleet.stdout() + fleet.stderr();
      const got = (subscriber: number, from: number) =>
        logs().includes(`subscriber ${subscriber} got bye from ${from}`);
      const [old0, old1] = before.map((r) => r.pid) as [number, number];
      // Worker 1 still served while worker 0 drained: its handler got worker 0's goodbye.
      await waitFor("worker 1 to get worker 0's goodbye", () => got(old1, old0));
      const [new0] = (await Promise.all([receivedOn(fleet, 0)])).map((r) => r.pid) as [number];
      await waitFor("the new worker 0 to get worker 1's goodbye", () => got(new0, old1));
      // A draining worker's own handlers were gone before it published.
      expect(got(old0, old0)).toBe(false);
      expect(got(old1, old1)).toBe(false);
    } finally {
      fleet.kill("SIGTERM");
    }
    expect(await fleet.exited).toBe(0);
  });

  test("with PUBSUB_URL a handler on another fleet gets what this fleet publishes", async () => {
    const redis = await startRedis();
    const env = { ...APP, WORKERS: "1", PUBSUB_URL: redis.url };
    const [one, two] = await Promise.all([startReadyFleet({ env }), startReadyFleet({ env })]);
    const connected = (f: Fleet) =>
      (f.stderr().match(/Redis (publisher|subscriber) connected/g) ?? []).length;
    try {
      await waitFor("both fleets on Redis", () => connected(one) === 2 && connected(two) === 2);
      await on(one, 0, "/publish?n=50", "POST");
      await waitFor("the other fleet's handler to get all 50", async () => {
        return (await receivedOn(two, 0)).received.length === 50;
      });
      expect((await receivedOn(two, 0)).received.map((m) => m.data)).toEqual(
        Array.from({ length: 50 }, (_, k) => `0:${k}`),
      );
    } finally {
      one.kill("SIGTERM");
      two.kill("SIGTERM");
    }
    expect(await Promise.all([one.exited, two.exited])).toEqual([0, 0]);
  });
});
