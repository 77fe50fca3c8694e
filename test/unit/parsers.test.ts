import { describe, expect, test } from "bun:test";
import { bool, choice, jsonArray, refine, url, whole } from "../../workers/parsers.ts";

const value = <T>(parsed: { ok: true; value: T } | { ok: false; error: string }) =>
  parsed.ok ? parsed.value : `error: ${parsed.error}`;

describe("setting parsers", () => {
  test("whole numbers: bounds, blanks, and no fractions or signs", () => {
    const port = whole(1, 65535);
    expect(value(port(" 8080 "))).toBe(8080);
    expect(value(port("0"))).toBe("error: must be a whole number from 1 to 65535");
    expect(value(port("65536"))).toStartWith("error:");
    expect(value(port("1.5"))).toStartWith("error:");
    expect(value(port("-1"))).toStartWith("error:");
    expect(value(port(""))).toStartWith("error:");
  });

  test("booleans read the usual words, anything else is named", () => {
    for (const on of ["1", "true", "YES", "on"]) expect(value(bool(on))).toBe(true);
    for (const off of ["0", "false", "No", "off"]) expect(value(bool(off))).toBe(false);
    expect(value(bool("maybe"))).toBe("error: must be 1 or 0 (also true/false, yes/no, on/off)");
  });

  test("choices and URLs", () => {
    expect(value(choice("text", "json")("json"))).toBe("json");
    expect(value(choice("text", "json")("xml"))).toBe("error: must be one of text, json");
    const redis = url("redis:", "rediss:");
    expect(value(redis("redis://127.0.0.1:6379"))).toBe("redis://127.0.0.1:6379");
    expect(value(redis("http://x"))).toBe("error: must be a redis:// or rediss:// URL");
    expect(value(redis("not a url"))).toStartWith("error:");
  });

  test("JSON arrays and refinements", () => {
    expect(value(jsonArray('[1,{"a":2}]'))).toEqual([1, { a: 2 }]);
    expect(value(jsonArray("{}"))).toBe("error: must be a JSON array");
    expect(value(jsonArray("[]"))).toBe("error: must be a non-empty JSON array");
    expect(value(jsonArray("[1,"))).toStartWith("error: is not valid JSON");
    const even = refine(whole(0, 10), (n) => n % 2 === 0, "must be even");
    expect(value(even("4"))).toBe(4);
    expect(value(even("3"))).toBe("error: must be even");
    expect(value(even("11"))).toStartWith("error: must be a whole number");
  });
});
