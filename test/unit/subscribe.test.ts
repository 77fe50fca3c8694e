import { expect, test } from "bun:test";
import type { Channel } from "../../workers/child/channel.ts";
import { WorkerPubSub } from "../../workers/child/pubsub.ts";

function worker() {
  const errors: string[] = [];
  const sent: string[] = [];
  const channel = { send: (m: { kind: string }) => sent.push(m.kind) } as unknown as Channel;
  const log = { debug() {}, info() {}, warn() {}, error: (m: string) => errors.push(m) };
  return { pubsub: new WorkerPubSub(channel, 0, log), errors, sent };
}

test("worker.subscribe: this worker's own publishes reach its handlers; bytes as a copy; unsubscribe once", () => {
  const { pubsub } = worker();
  const got: unknown[] = [];
  const handler = (data: string | Uint8Array, topic: string) =>
    got.push([topic, typeof data === "string" ? data : [...data]]);
  const off = pubsub.subscribe("t", handler);
  pubsub.subscribe("t", handler); // the same function twice: called twice
  const bytes = new Uint8Array([1, 2, 3]);
  pubsub.publish("t", "a");
  pubsub.publish("t", bytes.subarray(1));
  pubsub.publish("other", "x");
  const buffer = new Uint8Array([9]).buffer;
  pubsub.subscribe("b", (data) => {
    (data as Uint8Array)[0] = 0; // a handler that scribbles on what it got
  });
  pubsub.publish("b", buffer);
  expect(new Uint8Array(buffer)[0]).toBe(9);
  bytes[1] = 7; // the caller reuses its buffer after publishing
  expect(got).toEqual([
    ["t", "a"],
    ["t", "a"],
    ["t", [2, 3]],
    ["t", [2, 3]],
  ]);
  off();
  off(); // idempotent: the second subscription stays
  pubsub.publish("t", "b");
  expect(got.at(-1)).toEqual(["t", "b"]);
  expect(got).toHaveLength(5);
});

test("worker.subscribe: bad arguments throw; a throwing handler is logged and the others run; drain drops all", async () => {
  const { pubsub, errors } = worker();
  expect(() => pubsub.subscribe("", () => {})).toThrow("topic must be a non-empty string");
  expect(() => pubsub.subscribe("t", "no" as never)).toThrow("handler must be a function");
  const got: string[] = [];
  pubsub.subscribe("t", () => {
    throw new Error("boom");
  });
  pubsub.subscribe("t", async () => {
    throw new Error("async boom");
  });
  pubsub.subscribe("t", (d) => void got.push(d as string));
  pubsub.publish("t", "one");
  await Bun.sleep(0);
  expect(got).toEqual(["one"]);
  expect(errors.map((e) => e.split("\n")[0])).toEqual([
    'a worker.subscribe handler of "t" threw: Error: boom',
    'a worker.subscribe handler of "t" threw: Error: async boom',
  ]);
  pubsub.unsubscribeAll();
  pubsub.publish("t", "two");
  const late = pubsub.subscribe("t", (d) => void got.push(d as string));
  pubsub.publish("t", "three");
  late();
  expect(got).toEqual(["one"]);
});

test("worker.subscribe: what a handler publishes goes out after the message it handles", () => {
  const order: string[] = [];
  const channel = { send: (m: { data?: string }) => order.push(`redis:${m.data}`) };
  const remote = new WorkerPubSub(channel as unknown as Channel, 0, {
    debug() {},
    info() {},
    warn() {},
    error() {},
  });
  remote.peers([], true, 1 << 20); // with PUBSUB_URL: each publish is handed to the primary
  remote.subscribe("a", () => remote.publish("b", "reply"));
  remote.publish("a", "first");
  expect(order).toEqual(["redis:first", "redis:reply"]);
});
