import { expect, test } from "bun:test";
import { type ChatClient, joinAcross, joinChat, leave } from "../helpers/chat.ts";
import {
  FIXTURES,
  type Fleet,
  freePort,
  freshFetch,
  NO_EXTRAS,
  startReadyFleet,
  TOKEN,
  waitFor,
} from "../helpers/fleet.ts";
import { startRedis } from "../helpers/redis.ts";

const APP = { APP_MODULE: `${FIXTURES}/pubsub-app.ts`, ...NO_EXTRAS, WORKERS: "1" };
const connected = (fleet: Fleet) =>
  (fleet.stderr().match(/pub\/sub: Redis (publisher|subscriber) connected/g) ?? []).length;
const texts = (client: ChatClient) => client.messages.map((m) => m.text);

test("two fleets share topics through Redis; Redis killed mid-run: both serve, local works, sharing resumes", async () => {
  const redis = await startRedis();
  const env = { ...APP, PUBSUB_URL: redis.url };
  const [one, two] = await Promise.all([startReadyFleet({ env }), startReadyFleet({ env })]);
  await waitFor(
    "both fleets to connect to Redis",
    () => connected(one) === 2 && connected(two) === 2,
  );
  const a = await joinChat(one.port, "shared", "a");
  const b = await joinChat(two.port, "shared", "b");
  try {
    a.ws.send("from one");
    b.ws.send("from two");
    const both = (text: string) => texts(a).includes(text) && texts(b).includes(text);
    await waitFor("both messages on both fleets", () => both("from one") && both("from two"));

    await redis.kill();
    await waitFor("both fleets to log the lost connection", () =>
      [one, two].every((f) => /lost the Redis subscriber connection/.test(f.stderr())),
    );
    a.ws.send("while down");
    await waitFor("local delivery while Redis is down", () => texts(a).includes("while down"));
    for (const fleet of [one, two]) expect((await freshFetch(fleet.url("/"))).status).toBe(200);

    await redis.restart();
    await waitFor(
      "both fleets to reconnect",
      () => connected(one) === 4 && connected(two) === 4,
      8000,
    );
    expect(one.stderr()).toMatch(
      /publisher connected to \S+ after \d+ ms; 1 publication\(s\) were not sent/,
    );
    const metrics = await (
      await fetch(one.url("/metrics"), { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(metrics).toContain('fleet_pubsub_dropped_total{reason="redis_unavailable"} 1');
    a.ws.send("back");
    await waitFor("sharing to resume", () => both("back"));
    // Order holds per publisher only: the second fleet's message goes once the first's arrived
    // (sent together they arrived swapped once, with a core hogged).
    b.ws.send("back too");
    await waitFor("the other fleet's message", () => both("back too"));
    // Exactly once each (no echo back through Redis), and the message sent while down stayed local.
    expect(texts(a)).toEqual(
      ["from one", "from two", "while down", "back", "back too"].filter((t) =>
        texts(a).includes(t),
      ),
    );
    expect(texts(a).filter((t) => t === "from one")).toHaveLength(1);
    expect(texts(b).filter((t) => t === "from two")).toHaveLength(1);
    expect(texts(b)).not.toContain("while down");
  } finally {
    await leave([a, b]);
  }
  for (const fleet of [one, two]) fleet.kill("SIGTERM");
  expect(await Promise.all([one.exited, two.exited])).toEqual([0, 0]);
}, 15_000);

test("Redis unreachable at start: one clear line, the fleet serves and publishes locally", async () => {
  const env = { ...APP, WORKERS: "2", PUBSUB_URL: `redis://127.0.0.1:${await freePort()}` };
  const fleet = await startReadyFleet({ env });
  await waitFor("the unreachable line", () =>
    /Redis at redis:\/\/127\.0\.0\.1:\d+\/? is unreachable for the publisher/.test(fleet.stderr()),
  );
  const clients = await joinAcross(fleet.port, "alone", 2, 1);
  try {
    clients[0]?.ws.send("still here");
    await waitFor("delivery on both workers", () =>
      clients.every((c) => texts(c).includes("still here")),
    );
  } finally {
    await leave(clients);
  }
  expect(fleet.stderr().match(/is unreachable for the publisher/g)).toHaveLength(1); // not per retry
  fleet.kill("SIGTERM");
  expect(await fleet.exited).toBe(0);
});
