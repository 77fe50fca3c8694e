import { describe, expect, test } from "bun:test";
import {
  type ChildMessage,
  dispatch,
  type Handlers,
  message,
  PROTOCOL,
  type PrimaryMessage,
  parseChildMessage,
  parsePrimaryMessage,
  type Routes,
  route,
} from "../../workers/protocol.ts";
import { type ChildInit, parseChildInit } from "../../workers/worker-init.ts";

/** A spawn env as the primary writes it. */
const valid = (): ChildInit => ({
  extra: null,
  heartbeatMs: 1000,
  maxRequests: 0,
  maxMemoryMb: 0,
  workerIndexHeader: false,
  wsMaxPayloadBytes: 1024,
  wsIdleTimeoutS: 120,
  wsBackpressureLimitBytes: 1024,
  sseHeartbeatMs: 15_000,
  sseMaxBufferedBytes: 1024 * 1024,
  tls: null,
  idleTimeoutS: 10,
  maxBodyBytes: 1024,
  dev: false,
  index: 1,
  context: { a: 1 },
  setup: null,
  config: { DATABASE_URL: "sqlite://x.db" },
  port: 3000,
  host: "0.0.0.0",
  appModule: "/a.ts",
  hooksModule: "/h.ts",
  adminToken: "a-token-of-16-chars",
  shutdownTimeoutMs: 10,
  metrics: true,
  metricsPublic: false,
  collectTimeoutMs: 1000,
  logFormat: "json",
  logLevel: "info",
  accessLog: false,
});

describe("protocol", () => {
  test("built messages carry the protocol tag and parse back", () => {
    const drain = message<PrimaryMessage>({
      kind: "drain",
      reason: "SIGTERM",
      deadline: 123,
      windowMs: 0,
    });
    expect(drain).toEqual({
      fleet: PROTOCOL,
      kind: "drain",
      reason: "SIGTERM",
      deadline: 123,
      windowMs: 0,
    });
    expect(parsePrimaryMessage(drain)).toEqual({ ok: true, value: drain });
    const ready = message<ChildMessage>({ kind: "ready" });
    expect(parseChildMessage(ready)).toEqual({ ok: true, value: ready });
  });

  test.each([
    [null, "not a fleet message"],
    ["drain", "not a fleet message"],
    [{ kind: "drain", reason: "SIGTERM", deadline: 1 }, "not a fleet message"],
    [{ fleet: "other/1", kind: "ready" }, "not a fleet message"],
    [{ fleet: PROTOCOL, kind: "explode" }, "malformed"],
    [{ fleet: PROTOCOL, kind: "stop-requested" }, "malformed: reason"],
    [{ fleet: PROTOCOL, kind: "boot-failed", error: 42 }, "malformed: error"],
    [{ fleet: PROTOCOL, kind: "recycle", reason: "bored" }, "malformed: reason"],
    [{ fleet: PROTOCOL, kind: "scale-requested", workers: 0 }, "malformed: workers"],
    [{ fleet: PROTOCOL, kind: "collect-request", id: 1, what: "secrets" }, "malformed: what"],
    [{ fleet: PROTOCOL, kind: "collect-request", id: -1, what: "status" }, "malformed: id"],
    [{ fleet: PROTOCOL, kind: "snapshot", id: 1, snapshot: { rss: 1 } }, "malformed: snapshot"],
    [{ fleet: PROTOCOL, kind: "snapshot", id: 1 }, "malformed: snapshot: must be an object"],
  ])("worker message %j is rejected (%s)", (raw, why) => {
    const parsed = parseChildMessage(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(why);
  });

  test("a drain without a numeric deadline is rejected", () => {
    const parsed = parsePrimaryMessage({
      fleet: PROTOCOL,
      kind: "drain",
      reason: "SIGTERM",
      deadline: "soon",
    });
    expect(parsed).toMatchObject({ ok: false, error: expect.stringContaining("deadline") });
  });

  test("live-reload carries a whole generation count; anything else is rejected", () => {
    const ok = message<PrimaryMessage>({ kind: "live-reload", generation: 2 });
    expect(parsePrimaryMessage(ok)).toEqual({ ok: true, value: ok });
    for (const generation of [-1, 1.5, "2", undefined]) {
      const parsed = parsePrimaryMessage({ fleet: PROTOCOL, kind: "live-reload", generation });
      expect(parsed).toMatchObject({ ok: false, error: expect.stringContaining("generation") });
    }
  });

  test("route calls the route for the message's kind with its sender", () => {
    type Ask = Extract<ChildMessage, { kind: "reload-requested" | "scale-requested" }>;
    const seen: string[] = [];
    const routes: Routes<Ask, string> = {
      "reload-requested": (from) => seen.push(`${from} reload`),
      "scale-requested": (from, m) => seen.push(`${from} scale:${m.workers}`),
    };
    route(routes, "worker 0", message<Ask>({ kind: "scale-requested", workers: 2 }));
    route(routes, "worker 1", message<Ask>({ kind: "reload-requested" }));
    expect(seen).toEqual(["worker 0 scale:2", "worker 1 reload"]);
  });

  test("history-request carries an id and a whole epoch-ms since; anything else is rejected", () => {
    const ok = message<ChildMessage>({ kind: "history-request", id: 3, since: 1_700_000_000_000 });
    expect(parseChildMessage(ok)).toEqual({ ok: true, value: ok });
    for (const since of [-1, 1.5, "0", undefined]) {
      const parsed = parseChildMessage({ fleet: PROTOCOL, kind: "history-request", id: 1, since });
      expect(parsed).toMatchObject({ ok: false, error: expect.stringContaining("since") });
    }
  });

  test("dispatch calls the handler for the message's kind", () => {
    const seen: string[] = [];
    const handlers: Handlers<ChildMessage> = {
      ready: () => seen.push("ready"),
      "boot-failed": (m) => seen.push(`boot-failed:${m.error}`),
      "stop-requested": (m) => seen.push(`stop:${m.reason}`),
      draining: (m) => seen.push(`draining:${m.reason}`),
      heartbeat: () => seen.push("heartbeat"),
      recycle: (m) => seen.push(`recycle:${m.reason}`),
      "reload-requested": () => seen.push("reload"),
      "scale-requested": (m) => seen.push(`scale:${m.workers}`),
      publish: (m) => seen.push(`publish:${m.topic}`),
      "pubsub-ack": (m) => seen.push(`ack:${m.bytes}`),
      "pubsub-listening": (m) => seen.push(`listening:${m.path}`),
      "pubsub-counts": (m) => seen.push(`counts:${m.published}`),
      snapshot: (m) => seen.push(`snapshot:${m.id}`),
      "collect-request": (m) => seen.push(`collect:${m.what}`),
      "history-request": (m) => seen.push(`history:${m.since}`),
    };
    dispatch(handlers, message<ChildMessage>({ kind: "stop-requested", reason: "admin-stop" }));
    dispatch(handlers, message<ChildMessage>({ kind: "boot-failed", error: "port" }));
    dispatch(handlers, message<ChildMessage>({ kind: "scale-requested", workers: 3 }));
    expect(seen).toEqual(["stop:admin-stop", "boot-failed:port", "scale:3"]);
  });

  test("worker init: explains a missing, broken or incomplete env", () => {
    expect(parseChildInit(undefined)).toMatchObject({
      ok: false,
      error: expect.stringContaining("started by the primary"),
    });
    expect(parseChildInit("{")).toMatchObject({
      ok: false,
      error: expect.stringContaining("is not JSON"),
    });
    expect(parseChildInit('{"index":0}')).toMatchObject({
      ok: false,
      error: expect.stringContaining("BUN_FLEET_WORKER."),
    });
    const init = valid();
    expect(parseChildInit(JSON.stringify(init))).toEqual({ ok: true, value: init });
  });

  test("worker init: each setting is checked by its own parser, naming it", () => {
    const init = { ...valid(), port: "3000" };
    expect(parseChildInit(JSON.stringify(init))).toEqual({
      ok: false,
      error: "BUN_FLEET_WORKER.port: must be a number",
    });
    expect(parseChildInit(JSON.stringify({ ...valid(), maxMemoryMb: 8 }))).toEqual({
      ok: false,
      error: "BUN_FLEET_WORKER.maxMemoryMb: must be 0 (off) or at least 32",
    });
    expect(parseChildInit(JSON.stringify({ ...valid(), logLevel: "loud" }))).toEqual({
      ok: false,
      error: "BUN_FLEET_WORKER.logLevel: must be one of debug, info, warn, error",
    });
    const { host: _host, ...noHost } = valid();
    expect(parseChildInit(JSON.stringify(noHost))).toEqual({
      ok: false,
      error: "BUN_FLEET_WORKER.host: is missing",
    });
  });
});
