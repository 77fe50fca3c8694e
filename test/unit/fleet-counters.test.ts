import { describe, expect, test } from "bun:test";
import { FleetCounters, LEASE_SHARE } from "../../workers/primary/counters/fleet-counters.ts";

describe("the fleet's shared budgets (primary)", () => {
  test("grants 1/8 of what is left, at least 1, and never past the limit", () => {
    const counters = new FleetCounters();
    const grants: number[] = [];
    for (let i = 0; i < 60; i++) grants.push(counters.take("1.2.3.4", 100, 60_000, 1000).granted);
    expect(grants[0]).toBe(Math.floor(100 / LEASE_SHARE));
    expect(grants.reduce((a, b) => a + b, 0)).toBe(100);
    expect(grants.filter((g) => g === 0).length).toBeGreaterThan(0);
    const refused = counters.take("1.2.3.4", 100, 60_000, 1000);
    expect(refused).toEqual({ granted: 0, remaining: 0, resetAt: 61_000 });
  });

  test("a key's window starts with its first request and a new one after it ends", () => {
    const counters = new FleetCounters();
    expect(counters.take("k", 1, 1000, 5_500)).toEqual({
      granted: 1,
      remaining: 0,
      resetAt: 6_500,
    });
    expect(counters.take("k", 1, 1000, 6_499).granted).toBe(0);
    expect(counters.take("k", 1, 1000, 6_500)).toEqual({
      granted: 1,
      remaining: 0,
      resetAt: 7_500,
    });
  });

  test("keys, limits and windows are separate budgets", () => {
    const counters = new FleetCounters();
    expect(counters.take("a", 1, 1000, 0).granted).toBe(1);
    expect(counters.take("b", 1, 1000, 0).granted).toBe(1);
    expect(counters.take("a", 2, 1000, 0).granted).toBe(1);
    expect(counters.take("a", 1, 2000, 0).granted).toBe(1);
    expect(counters.take("a", 1, 1000, 0).granted).toBe(0);
  });

  test("holds at most its bound of keys: expired ones go first, then the oldest", () => {
    const counters = new FleetCounters(3);
    counters.take("old", 5, 100, 0);
    counters.take("b", 5, 10_000, 0);
    counters.take("c", 5, 10_000, 0);
    counters.take("d", 5, 10_000, 500); // "old" has expired: it goes
    expect(counters.size).toBe(3);
    counters.take("e", 5, 10_000, 600); // none expired: the oldest ("b") goes
    expect(counters.size).toBe(3);
    expect(counters.take("b", 5, 10_000, 700).resetAt).toBe(10_700); // a new window
    expect(counters.take("e", 5, 10_000, 700).resetAt).toBe(10_600); // kept
    expect(counters.size).toBe(3);
  });
});
