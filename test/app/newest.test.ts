import { describe, expect, test } from "bun:test";
import { NewestVersions } from "../../app/newest.ts";
import { localPubSub } from "../helpers/worker.ts";

type Todo = { id: number; title: string; version: number };

describe("the ordering recipe (app/newest.ts)", () => {
  test("updates from two workers arriving out of order leave every receiver with the newest", () => {
    // Worker A wrote versions 1, 3 and 4 of todo 7, worker B versions 2 and 5. Each publisher's
    // order holds, but the two streams interleave differently on each receiver.
    const a = [1, 3, 4].map((v) => ({ id: 7, title: `a${v}`, version: v }));
    const b = [2, 5].map((v) => ({ id: 7, title: `b${v}`, version: v }));
    const arrivals: Todo[][] = [
      [...a, ...b], // A's first, then B's
      [...b, ...a], // B's first: versions 2, 5, 1, 3, 4
      [a[0], b[0], b[1], a[1], a[2]] as Todo[], // 1, 2, 5, 3, 4
    ];
    const lastWins: (number | undefined)[] = [];
    for (const order of arrivals) {
      const { publish, subscribe } = localPubSub();
      const cache = new Map<number, Todo>();
      const naive = new Map<number, Todo>(); // last one wins: what the recipe fixes
      const newest = new NewestVersions();
      subscribe("todo", (data) => {
        const todo = JSON.parse(data as string) as Todo;
        naive.set(todo.id, todo);
        if (newest.accept(String(todo.id), todo.version)) cache.set(todo.id, todo);
      });
      for (const todo of order) publish("todo", JSON.stringify(todo));
      expect(cache.get(7)).toEqual({ id: 7, title: "b5", version: 5 });
      expect(newest.get("7")).toBe(5);
      lastWins.push(naive.get(7)?.version);
    }
    // Without the check, two of the three orders end on a stale version.
    expect(lastWins).toEqual([5, 4, 4]);
  });

  test("a repeated or older version is refused; keys are independent", () => {
    const newest = new NewestVersions();
    expect(newest.accept("a", 2)).toBe(true);
    expect(newest.accept("a", 2)).toBe(false);
    expect(newest.accept("a", 1)).toBe(false);
    expect(newest.accept("b", 1)).toBe(true);
    expect(newest.accept("a", 3)).toBe(true);
  });

  test("remembers at most maxKeys keys, forgetting the least recently updated", () => {
    const newest = new NewestVersions(2);
    newest.accept("a", 1);
    newest.accept("b", 1);
    newest.accept("a", 2); // a is now the most recently updated
    newest.accept("c", 1); // forgets b
    expect([newest.get("a"), newest.get("b"), newest.get("c")]).toEqual([2, undefined, 1]);
  });

  test("bad input is a clear error", () => {
    expect(() => new NewestVersions(0)).toThrow("maxKeys must be a whole number >= 1");
    expect(() => new NewestVersions().accept("a", Number.NaN)).toThrow(
      "the version of a must be a finite number",
    );
    expect(() => new NewestVersions().accept("a", "2" as unknown as number)).toThrow(
      "must be a finite number",
    );
  });
});
