import { describe, expect, test } from "bun:test";
import { Pending } from "../../workers/pending.ts";

describe("pending IPC requests", () => {
  test("an answer in time resolves; a late one is dropped and the map empties", async () => {
    const pending = new Pending<string>();
    const fast = pending.open(1000);
    const slow = pending.open(10);
    expect(pending.size).toBe(2);
    expect(pending.settle(fast.id, "ok")).toBe(true);
    expect(await fast.answer).toBe("ok");
    expect(await slow.answer).toBeNull();
    expect(pending.settle(slow.id, "late")).toBe(false);
    expect(pending.settle(12345, "unknown")).toBe(false);
    expect(pending.size).toBe(0);
  });

  test("cancelAll resolves everything with null (the other side is gone)", async () => {
    const pending = new Pending<number>();
    const a = pending.open(10_000);
    const b = pending.open(10_000);
    pending.cancelAll();
    expect(await Promise.all([a.answer, b.answer])).toEqual([null, null]);
    expect(pending.size).toBe(0);
  });
});
