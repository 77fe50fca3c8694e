import { describe, expect, test } from "bun:test";
import { checkExtras, jsonProblem } from "../../workers/primary/start/hooks.ts";

describe("jsonProblem", () => {
  test("plain JSON passes", () => {
    expect(jsonProblem({ a: [1, "x", null, true, { b: 2 }] })).toBeNull();
    expect(jsonProblem(Object.create(null))).toBeNull();
  });

  test.each([
    [{ when: new Date(0) }, "result.when is a Date"],
    [{ list: [1, () => 2] }, "result.list[1] is function"],
    [{ n: Number.NaN }, "result.n is NaN"],
    [undefined, "result is undefined"],
    [new Map(), "result is a Map"],
    [{ big: 1n }, "result.big is bigint"],
  ])("%p is refused: %s", (value, problem) => {
    expect(jsonProblem(value)).toBe(problem);
  });
});

describe("checkExtras", () => {
  const hooks = import.meta.path;
  test("fills in instances and resolves module paths against the hooks module", () => {
    const [extra] = checkExtras([{ name: "me", module: "./hooks.test.ts" }], hooks);
    expect(extra).toEqual({ name: "me", module: import.meta.path, instances: 1 });
  });

  test("names the entry and field that is wrong", () => {
    const bad: [unknown, string][] = [
      [{}, "extras must be an array"],
      [[42], "extras[0] must be an object"],
      [[{ name: "a b", module: "./x.ts" }], "extras[0].name must be a simple name"],
      [[{ name: "a", module: "" }], "extras[0].module must be a module path"],
      [[{ name: "a", module: "./x.ts", instances: 0 }], "extras[0].instances must be a whole"],
      [[{ name: "a", module: "./nope.ts" }], 'extra "a": no such module'],
    ];
    for (const [extras, message] of bad) {
      expect(() => checkExtras(extras as never, hooks)).toThrow(message);
    }
  });
});
