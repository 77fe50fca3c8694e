import { describe, expect, test } from "bun:test";
import { PubSubHub, type RelayTarget } from "../../workers/primary/pubsub/hub.ts";
import { shownUrl } from "../../workers/primary/pubsub/redis-bridge.ts";
import { decodeEnvelope, encodeEnvelope } from "../../workers/primary/pubsub/redis-envelope.ts";
import type { Publication } from "../../workers/protocol.ts";
import { PROTOCOL, parseChildMessage, parsePrimaryMessage } from "../../workers/protocol.ts";
import {
  costOf,
  MAX_PUBLISH_BYTES,
  MESSAGE_OVERHEAD_BYTES,
  payloadOf,
  toPublication,
} from "../../workers/pubsub.ts";

/** A worker as the hub sees it, recording what it was sent. */
function target(name: string): RelayTarget & { got: string[] } {
  const got: string[] = [];
  return { name, got, relay: (p) => got.push(p.data) };
}

function recordingLog() {
  const lines: string[] = [];
  const line = (m: string) => lines.push(m);
  return { lines, log: { debug: line, info: line, warn: line, error: line } };
}

const pub = (data: string, topic = "t"): Publication => ({ topic, data, binary: false });

describe("pub/sub payloads", () => {
  test("strings travel as they are; bytes as base64 and come back equal", () => {
    expect(toPublication("room", "hi")).toEqual({ topic: "room", data: "hi", binary: false });
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const wire = toPublication("room", bytes);
    expect(wire.binary).toBe(true);
    expect(payloadOf(JSON.parse(JSON.stringify(wire)))).toEqual(bytes);
    const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    expect(payloadOf(toPublication("r", view))).toEqual(new Uint8Array([8, 7]));
    expect(payloadOf(toPublication("r", new Uint8Array([5]).buffer))).toEqual(new Uint8Array([5]));
  });

  test("bad topics, other data and oversized payloads throw clear errors", () => {
    expect(() => toPublication("", "x")).toThrow("topic must be a non-empty string");
    expect(() => toPublication(42, "x")).toThrow("topic must be a non-empty string");
    expect(() => toPublication("t", { a: 1 })).toThrow("data must be a string");
    expect(() => toPublication("t", "x".repeat(MAX_PUBLISH_BYTES + 1))).toThrow(RangeError);
  });

  test("a publication costs its data, topic and a fixed overhead", () => {
    expect(costOf(pub("abcd", "tt"))).toBe(6 + MESSAGE_OVERHEAD_BYTES);
  });

  test("IPC shapes: publish and pubsub-ack are checked field by field", () => {
    const ok = { fleet: PROTOCOL, kind: "publish", topic: "t", data: "d", binary: false };
    expect(parsePrimaryMessage(ok).ok).toBe(true);
    expect(parseChildMessage(ok).ok).toBe(true);
    expect(parseChildMessage({ ...ok, topic: "" })).toMatchObject({ ok: false });
    expect(parseChildMessage({ ...ok, data: 7 })).toMatchObject({ ok: false });
    expect(parsePrimaryMessage({ ...ok, binary: "yes" })).toMatchObject({ ok: false });
    const ack = { fleet: PROTOCOL, kind: "pubsub-ack", messages: 3, bytes: 200 };
    expect(parseChildMessage(ack).ok).toBe(true);
    expect(parseChildMessage({ ...ack, bytes: -1 })).toMatchObject({ ok: false });
  });

  test("IPC shapes of the mesh: listening, peers and counts", () => {
    const listening = { fleet: PROTOCOL, kind: "pubsub-listening", path: "/tmp/x/mesh.sock" };
    expect(parseChildMessage(listening).ok).toBe(true);
    expect(parseChildMessage({ ...listening, path: "" })).toMatchObject({ ok: false });
    const counts = { fleet: PROTOCOL, kind: "pubsub-counts", published: 1, relayed: 2, dropped: 0 };
    expect(parseChildMessage(counts).ok).toBe(true);
    expect(parseChildMessage({ ...counts, dropped: 0.5 })).toMatchObject({ ok: false });
    const peer = { index: 0, pid: 10, path: "/tmp/x/mesh.sock" };
    const peers = { fleet: PROTOCOL, kind: "pubsub-peers", peers: [peer], remote: false };
    expect(parsePrimaryMessage({ ...peers, maxLagBytes: 1024 }).ok).toBe(true);
    expect(parsePrimaryMessage({ ...peers, maxLagBytes: 0 })).toMatchObject({ ok: false });
    for (const bad of [[{ ...peer, pid: "10" }], [{ ...peer, path: "" }], [null], "x"]) {
      const parsed = parsePrimaryMessage({ ...peers, peers: bad, maxLagBytes: 1 });
      expect(parsed).toMatchObject({ ok: false, error: expect.stringContaining("peers") });
    }
  });
});

describe("pub/sub hub", () => {
  test("relays other fleets' messages to every worker, in order; this fleet's go to Redis only", () => {
    const { log } = recordingLog();
    const hub = new PubSubHub(1 << 20, log);
    const toRedis: string[] = [];
    hub.connectRemote({ publish: (p) => toRedis.push(p.data) });
    const [a, b, c] = [target("a"), target("b"), target("c")];
    for (const t of [a, b, c]) hub.add(t);
    hub.fromWorker(pub("1")); // workers exchange their own over the mesh
    hub.fromRemote(pub("2"));
    hub.fromRemote(pub("3"));
    for (const t of [a, b, c]) expect(t.got).toEqual(["2", "3"]);
    expect(toRedis).toEqual(["1"]);
    hub.remove(c);
    hub.fromRemote(pub("4"));
    expect(c.got).toHaveLength(2);
    expect(hub.stats).toEqual({ published: 0, remote: 3, relayed: 8, dropped: 0 });
  });

  test("a worker too far behind misses messages, counted and warned once, until it acks", () => {
    const { lines, log } = recordingLog();
    const each = costOf(pub("x".repeat(36)));
    const hub = new PubSubHub(each * 3, log);
    const [fast, slow] = [target("fast"), target("slow")];
    for (const t of [fast, slow]) hub.add(t);
    let acked = 0;
    for (let i = 0; i < 10; i++) {
      hub.fromRemote(pub(String(i).padStart(36, "x")));
      acked += each;
      hub.ack(fast, acked); // fast keeps up; slow never acks
    }
    expect(fast.got).toHaveLength(10);
    expect(slow.got).toHaveLength(3);
    expect(hub.lagOf(slow)).toBe(each * 3);
    expect(hub.stats.dropped).toBe(7);
    expect(lines.filter((l) => l.includes("dropping its messages"))).toHaveLength(1);
    hub.ack(slow, each * 3);
    hub.fromRemote(pub("y".repeat(36)));
    expect(slow.got.at(-1)).toBe("y".repeat(36));
    expect(lines.at(-1)).toContain("slow caught up; 7 message(s) were dropped");
  });

  test("an ack beyond what was sent is ignored (it cannot open the budget)", () => {
    const hub = new PubSubHub(1000, recordingLog().log);
    const t = target("t");
    hub.add(t);
    hub.fromRemote(pub("a"));
    hub.ack(t, 10_000_000);
    expect(hub.lagOf(t)).toBe(costOf(pub("a")));
  });
});

describe("Redis envelopes", () => {
  test("round-trip with the origin", () => {
    const text = encodeEnvelope("me", { topic: "room", data: "AQI=", binary: true });
    expect(decodeEnvelope(text)).toEqual({
      ok: true,
      origin: "me",
      publication: { topic: "room", data: "AQI=", binary: true },
    });
  });

  test.each([
    ["not json", "not JSON"],
    ['{"o":"x","t":"","d":"a","b":0}', "t (topic)"],
    ['{"t":"a","d":"a","b":0}', "o (origin)"],
    ['{"o":"x","t":"a","d":1,"b":0}', "d (data)"],
    ['{"o":"x","t":"a","d":"a","b":true}', "b (binary)"],
    ["[1]", "o (origin)"],
    ["2,000,000 characters", "is over"],
  ])("refuses %s (%s)", (label, why) => {
    const text = label.startsWith("2,000,000") ? "x".repeat(2_000_000) : label;
    const decoded = decodeEnvelope(text);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error).toContain(why);
  });

  test("log lines never show a Redis password", () => {
    expect(shownUrl("redis://user:secret@cache:6379/0")).toBe("redis://user:***@cache:6379/0");
  });
});
