import { describe, expect, test } from "bun:test";
import {
  CHILD_TRANSITIONS,
  type ChildState,
  Lifecycle,
  PRIMARY_TRANSITIONS,
  type PrimaryState,
} from "../../workers/lifecycle.ts";
import { CrashPolicy } from "../../workers/primary/crash-policy.ts";
import { interpretSignal, SIGINT_COALESCE_MS } from "../../workers/primary/signals.ts";

describe("lifecycles", () => {
  test("the primary goes starting -> running -> stopping -> stopped and never back", () => {
    const life = new Lifecycle<PrimaryState>("starting", PRIMARY_TRANSITIONS);
    life.to("running");
    life.to("stopping");
    expect(() => life.to("running")).toThrow("illegal transition stopping -> running");
    life.to("stopped");
    expect(life.can("stopping")).toBe(false);
  });

  test("the primary may stop while still starting (boot failure, early signal)", () => {
    const life = new Lifecycle<PrimaryState>("starting", PRIMARY_TRANSITIONS);
    life.to("stopping");
    expect(life.state).toBe("stopping");
  });

  test("a worker drains at most once and never becomes ready again", () => {
    const life = new Lifecycle<ChildState>("booting", CHILD_TRANSITIONS);
    life.to("ready");
    life.to("draining");
    expect(life.can("draining")).toBe(false);
    expect(life.can("ready")).toBe(false);
    life.to("exited");
    expect(life.is("exited")).toBe(true);
  });
});

describe("crash policy", () => {
  test("backs off exponentially and gives up at the limit within the window", () => {
    const policy = new CrashPolicy(4, 1000, 100);
    expect(policy.record(0)).toEqual({ action: "respawn", delayMs: 100, recent: 1 });
    expect(policy.record(10)).toEqual({ action: "respawn", delayMs: 200, recent: 2 });
    expect(policy.record(20)).toEqual({ action: "respawn", delayMs: 400, recent: 3 });
    expect(policy.record(30)).toEqual({ action: "give-up", recent: 4 });
  });

  test("crashes older than the window are forgotten", () => {
    const policy = new CrashPolicy(3, 1000, 50);
    policy.record(0);
    policy.record(500);
    expect(policy.record(1600)).toEqual({ action: "respawn", delayMs: 50, recent: 1 });
  });
});

describe("signals", () => {
  const calm = { stopping: false, msSinceLastSigint: Number.POSITIVE_INFINITY };

  test("SIGTERM, SIGQUIT and a first SIGINT stop gracefully", () => {
    expect(interpretSignal("SIGTERM", calm)).toEqual({ action: "stop", reason: "SIGTERM" });
    expect(interpretSignal("SIGQUIT", calm)).toEqual({ action: "stop", reason: "SIGQUIT" });
    expect(interpretSignal("SIGINT", calm)).toEqual({ action: "stop", reason: "SIGINT" });
  });

  test("a later SIGINT while stopping forces; one inside the window is the same key press", () => {
    const later = { stopping: true, msSinceLastSigint: SIGINT_COALESCE_MS + 1 };
    expect(interpretSignal("SIGINT", later)).toEqual({ action: "force" });
    const echo = { stopping: true, msSinceLastSigint: 0.2 };
    expect(interpretSignal("SIGINT", echo).action).toBe("ignore");
  });

  test("SIGTERM while stopping does not force", () => {
    const stopping = { stopping: true, msSinceLastSigint: Number.POSITIVE_INFINITY };
    expect(interpretSignal("SIGTERM", stopping).action).toBe("stop");
  });
});
