import { afterEach, describe, expect, test } from "bun:test";
import { configureLogs, formatLine, LEVELS } from "../../workers/log.ts";

afterEach(() => configureLogs("text", "info"));

describe("log lines", () => {
  test("json: pino's keys first (level number, time ms, pid, name, msg), then fields; errors serialized", () => {
    configureLogs("json", "info");
    const error = new Error("bad thing");
    const line = formatLine(
      LEVELS.error,
      "worker 1",
      "it broke",
      { err: error, msg: "no override" },
      { worker: 1 },
    );
    const parsed = JSON.parse(line);
    expect(Object.keys(parsed)).toEqual(["level", "time", "pid", "name", "msg", "worker", "err"]);
    expect(parsed).toMatchObject({
      level: 50,
      pid: process.pid,
      name: "worker 1",
      msg: "it broke",
      worker: 1,
    });
    expect(Math.abs(parsed.time - Date.now())).toBeLessThan(1000);
    expect(parsed.err).toMatchObject({ type: "Error", message: "bad thing" });
    expect(parsed.err.stack).toContain("log.test.ts");
    expect(line).not.toContain("\n");
  });

  test("a field that cannot be serialized still gives one line (json and text)", () => {
    configureLogs("json", "info");
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    const parsed = JSON.parse(formatLine(LEVELS.info, "primary", "hi", { loop, n: 10n }));
    expect(parsed).toMatchObject({ msg: "hi", fields: "[unserializable]" });
    configureLogs("text", "info");
    expect(formatLine(LEVELS.info, "primary", "hi", { loop })).toEndWith(
      "] hi loop=[unserializable]",
    );
  });

  test("text: time, level, process and pid, the message, then fields (bound ones and empty ones left out)", () => {
    const line = formatLine(
      LEVELS.warn,
      "extra ticker#0",
      "slow",
      { ms: 12, requestId: null, user: undefined },
      { extra: "ticker" },
    );
    expect(line).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z warn  \\[extra ticker#0 pid ${process.pid}\\] slow ms=12$`,
      ),
    );
  });
});
