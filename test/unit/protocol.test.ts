import { describe, expect, test } from "bun:test";
import {
  dispatch,
  type Handlers,
  message,
  PROTOCOL,
  type PrimaryMessage,
  parsePrimaryMessage,
  parseWorkerMessage,
  type WorkerMessage,
} from "../../workers/protocol.ts";
import { parseWorkerInit, type WorkerInit } from "../../workers/worker-init.ts";

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
    expect(parsePrimaryMessage(drain)).toEqual({ ok: true, message: drain });
    const ready = message<WorkerMessage>({ kind: "ready" });
    expect(parseWorkerMessage(ready)).toEqual({ ok: true, message: ready });
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
    const parsed = parseWorkerMessage(raw);
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

  test("livereload carries a whole generation count; anything else is rejected", () => {
    const ok = message<PrimaryMessage>({ kind: "livereload", generation: 2 });
    expect(parsePrimaryMessage(ok)).toEqual({ ok: true, message: ok });
    for (const generation of [-1, 1.5, "2", undefined]) {
      const parsed = parsePrimaryMessage({ fleet: PROTOCOL, kind: "livereload", generation });
      expect(parsed).toMatchObject({ ok: false, error: expect.stringContaining("generation") });
    }
  });

  test("dispatch calls the handler for the message's kind", () => {
    const seen: string[] = [];
    const handlers: Handlers<WorkerMessage> = {
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
    };
    dispatch(handlers, message<WorkerMessage>({ kind: "stop-requested", reason: "admin-stop" }));
    dispatch(handlers, message<WorkerMessage>({ kind: "boot-failed", error: "port" }));
    dispatch(handlers, message<WorkerMessage>({ kind: "scale-requested", workers: 3 }));
    expect(seen).toEqual(["stop:admin-stop", "boot-failed:port", "scale:3"]);
  });

  test("worker init: explains a missing, broken or incomplete env", () => {
    expect(parseWorkerInit(undefined)).toMatchObject({
      ok: false,
      error: expect.stringContaining("started by the primary"),
    });
    expect(parseWorkerInit("{")).toMatchObject({
      ok: false,
      error: expect.stringContaining("is not JSON"),
    });
    expect(parseWorkerInit('{"index":0}')).toMatchObject({
      ok: false,
      error: expect.stringContaining("BUN_FLEET_WORKER."),
    });
    const init: WorkerInit = {
      role: "http",
      extra: null,
      heartbeatMs: 1000,
      maxRequests: 0,
      maxMemoryMb: 0,
      workerIndexHeader: false,
      wsMaxPayloadBytes: 1024,
      wsIdleTimeoutS: 120,
      wsBackpressureLimitBytes: 1024,
      tls: null,
      idleTimeoutS: 10,
      maxBodyBytes: 1024,
      dev: false,
      index: 1,
      context: { a: 1 },
      setup: null,
      port: 3000,
      host: "0.0.0.0",
      appModule: "/a.ts",
      hooksModule: "/h.ts",
      adminToken: "t",
      shutdownTimeoutMs: 10,
      metrics: true,
      metricsPublic: false,
      collectTimeoutMs: 1000,
      logFormat: "json",
      logLevel: "info",
      accessLog: false,
    };
    expect(parseWorkerInit(JSON.stringify(init))).toEqual({ ok: true, message: init });
  });
});
