import { describe, expect, test } from "bun:test";
import { CrashPolicy } from "../../workers/primary/crash-policy.ts";

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
