import { afterEach, describe, expect, test } from "bun:test";
import { capTarget, configureLogs, formatLine, LEVELS, MAX_LINE_BYTES } from "../../workers/log.ts";

afterEach(() => configureLogs("text", "info"));

const bytes = (line: string) => Buffer.byteLength(line);

describe("log caps", () => {
  test("a request target is kept up to 1 KiB, then an ellipsis", () => {
    expect(capTarget("/hello")).toBe("/hello");
    const long = `/x/${"a".repeat(5000)}`;
    expect(capTarget(long)).toBe(`${long.slice(0, 1024)}…`);
    expect(capTarget(long.slice(0, 1024))).toBe(long.slice(0, 1024));
  });

  test("json: an over-long line stays one JSON object of at most 8 KiB that says how long it was", () => {
    configureLogs("json", "info");
    const error = new Error(`ENAMETOOLONG: open '/app/public/x/${"a".repeat(20_000)}'`);
    for (const [msg, fields] of [
      ["x".repeat(50_000), {}],
      ["request failed", { err: error }],
      ['\u0000\n"'.repeat(10_000), { path: "é".repeat(9000), n: 1 }],
      ["😀".repeat(9000), { worker: 1 }],
    ] as const) {
      const line = formatLine(LEVELS.error, "worker 0", msg, fields, { worker: 0 });
      expect(bytes(line)).toBeLessThanOrEqual(MAX_LINE_BYTES);
      const parsed = JSON.parse(line);
      expect(parsed).toMatchObject({ level: 50, name: "worker 0", worker: 0 });
      expect(parsed.truncated).toBeGreaterThan(MAX_LINE_BYTES);
      expect(typeof parsed.fields).toBe("string");
      if (msg.length < 100) expect(parsed.msg).toBe(msg);
      else expect(parsed.msg).toEndWith("…");
      expect(parsed.msg.length).toBeGreaterThan(Math.min(msg.length, 100) - 1);
    }
  });

  test("text: an over-long line is cut to 8 KiB and says how many bytes were dropped", () => {
    const line = formatLine(LEVELS.info, "worker 0", "é".repeat(10_000));
    expect(bytes(line)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    const cut = Number(/… \[(\d+) bytes cut\]$/.exec(line)?.[1]);
    expect(cut + bytes(line.slice(0, line.lastIndexOf(" … [")))).toBe(
      bytes(formatLine(LEVELS.info, "worker 0", "").replace(/ $/, "")) + 20_000 + 1,
    );
  });

  test("lines under the cap are written as they are", () => {
    configureLogs("json", "info");
    const msg = "y".repeat(6000);
    expect(JSON.parse(formatLine(LEVELS.info, "primary", msg)).msg).toBe(msg);
    configureLogs("text", "info");
    expect(formatLine(LEVELS.info, "primary", msg)).toEndWith(msg);
  });
});
