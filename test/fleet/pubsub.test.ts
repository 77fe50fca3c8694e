import { describe, expect, test } from "bun:test";
import { joinAcross, leave } from "../helpers/chat.ts";
import {
  FIXTURES,
  freshFetch,
  NO_EXTRAS,
  startFleet,
  startReadyFleet,
  TOKEN,
  waitFor,
} from "../helpers/fleet.ts";

const APP = { APP_MODULE: `${FIXTURES}/pubsub-app.ts`, ...NO_EXTRAS };

describe("fleet-wide pub/sub", () => {
  test("a publish from a client of one worker reaches every client of every worker once, in order", async () => {
    const fleet = await startReadyFleet({ env: APP });
    const clients = await joinAcross(fleet.port, "order", 2, 3);
    try {
      const a = clients.find((c) => c.worker === 0);
      const b = clients.find((c) => c.worker === 1);
      if (!a || !b) throw new Error("need a client on each worker");
      const N = 300;
      for (let i = 0; i < N; i++) {
        a.ws.send(`a${i}`); // published by worker 0
        b.ws.send(`b${i}`); // published by worker 1, interleaved
      }
      await waitFor(
        () => `every client to get ${2 * N} messages (${clients.map((c) => c.messages.length)})`,
        () => clients.every((c) => c.messages.length >= 2 * N),
      );
      // A sentinel from each publisher: in-order delivery puts any duplicate before it.
      a.ws.send("end");
      b.ws.send("end");
      await waitFor("every client to get both sentinels", () =>
        clients.every((c) => c.messages.filter((m) => m.text === "end").length === 2),
      );
      for (const client of clients) {
        expect(client.messages).toHaveLength(2 * N + 2);
        const messages = client.messages.filter((m) => m.text !== "end");
        for (const from of [a, b]) {
          const texts = messages.filter((m) => m.from === from.name).map((m) => m.text);
          expect(texts).toEqual(
            Array.from({ length: N }, (_, i) => `${from.name === a.name ? "a" : "b"}${i}`),
          );
          expect(messages.find((m) => m.from === from.name)?.worker).toBe(from.worker);
        }
      }
      // A frame the room refuses closes that socket with 1003, and only it.
      a.ws.send("x".repeat(2001));
      expect((await a.closed).code).toBe(1003);
      b.ws.send("still open");
      await waitFor("the others to keep chatting", () =>
        clients.filter((c) => c !== a).every((c) => c.messages.at(-1)?.text === "still open"),
      );
    } finally {
      await leave(clients);
    }
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test("a stalled worker misses messages (counted, warned) instead of growing the primary; it resumes after", async () => {
    const fleet = await startReadyFleet({ env: { ...APP, PUBSUB_MAX_LAG_BYTES: "65536" } });
    const clients = await joinAcross(fleet.port, "flood", 2, 1);
    try {
      const sender = clients.find((c) => c.worker === 0);
      const stalled = clients.find((c) => c.worker === 1);
      if (!sender || !stalled) throw new Error("need a client on each worker");
      await waitFor("worker 1 to stall", async () => {
        const res = await freshFetch(fleet.url("/block?worker=1&ms=1000"), { method: "POST" });
        return res.status === 200;
      });
      const N = 2000;
      const line = "x".repeat(1000);
      for (let i = 0; i < N; i++) sender.ws.send(`${i} ${line}`);
      await waitFor("the sender to get all its messages", () => sender.messages.length === N);
      await waitFor("the primary to warn about worker 1", () =>
        /worker 1 \(pid \d+\) is \d+ bytes behind \(PUBSUB_MAX_LAG_BYTES 65536\)/.test(
          fleet.stderr(),
        ),
      );
      // Once it runs again and acks, the primary sends it messages again.
      let afters = 0;
      await waitFor(
        "the stalled worker's client to get messages again",
        () => {
          sender.ws.send(`after ${afters++}`);
          return stalled.messages.some((m) => m.text.startsWith("after"));
        },
        5000,
        50,
      );
      const seen = stalled.messages
        .filter((m) => !m.text.startsWith("after"))
        .map((m) => Number.parseInt(m.text, 10));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.length).toBeLessThan(N / 10); // 64 KiB holds ~60 of these 1 KB messages
      expect(seen).toEqual([...seen].sort((x, y) => x - y)); // in order, no duplicates
      expect(new Set(seen).size).toBe(seen.length);
      const dropped = Number(
        /caught up; (\d+) message\(s\) were dropped/.exec(fleet.stderr())?.[1],
      );
      await waitFor(
        "the sender to get its last message",
        () => sender.messages.length === N + afters,
      );
      // The stalled worker's client may still be receiving the last "after" messages: every
      // message not dropped must arrive (a read of the count at this instant raced them).
      await waitFor(
        () =>
          `the stalled worker's client to get ${N + afters - dropped} messages (has ${stalled.messages.length})`,
        () => stalled.messages.length >= N + afters - dropped,
      );
      expect(stalled.messages.length).toBe(N + afters - dropped);
      const metrics = await (
        await fetch(fleet.url("/metrics"), { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      expect(metrics).toContain(`fleet_pubsub_dropped_total{reason="slow_worker"} ${dropped}`);
    } finally {
      await leave(clients);
    }
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test("after a rolling reload and a killed worker, the new workers relay to each other", async () => {
    const fleet = await startReadyFleet({ env: { ...APP, DRAIN_WINDOW_MS: "0" } });
    fleet.kill("SIGHUP");
    await waitFor("the reload to complete", () =>
      fleet.stderr().includes("reload (SIGHUP) complete"),
    );
    const [, victim] = fleet.pids().filter((pid) => pid !== fleet.pid);
    if (victim) process.kill(victim, "SIGKILL");
    await waitFor("the killed worker's slot to be served again", () =>
      /respawning its slot/.test(fleet.stderr()),
    );
    await waitFor(
      "a fresh worker to be ready",
      async () => (await freshFetch(fleet.url("/readyz"))).ok,
    );
    const clients = await joinAcross(fleet.port, "after", 2, 2);
    try {
      for (const c of clients) c.ws.send(`from ${c.name}`);
      await waitFor("every message on every client", () =>
        clients.every((c) =>
          clients.every((d) => c.messages.some((m) => m.text === `from ${d.name}`)),
        ),
      );
    } finally {
      await leave(clients);
    }
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test("an invalid PUBSUB_URL is a configuration error: exit 2 naming it", async () => {
    const fleet = await startFleet({ env: { PUBSUB_URL: "http://127.0.0.1:6379" } });
    expect(await fleet.exited).toBe(2);
    expect(fleet.stderr()).toContain("PUBSUB_URL");
    expect(fleet.stderr()).toContain("must be a redis:// or rediss:// URL");
  });
});
