import { afterEach, describe, expect, test } from "bun:test";
import { configureLogs, formatLine, LEVELS } from "../../workers/log.ts";
import { Pending } from "../../workers/pending.ts";
import { snapshotProblem } from "../../workers/snapshot.ts";

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

  test("text: time, level, process and pid, the message, then fields (bound ones left out)", () => {
    const line = formatLine(LEVELS.warn, "extra ticker#0", "slow", { ms: 12 }, { extra: "ticker" });
    expect(line).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z warn  \\[extra ticker#0 pid ${process.pid}\\] slow ms=12$`,
      ),
    );
  });
});

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

describe("snapshots over IPC", () => {
  const good = {
    rss: 1,
    metered: true,
    requests: 2,
    inFlight: 0,
    counts: [["GET", 200, 2]],
    buckets: new Array(15).fill(0),
    durationSum: 0.1,
    websockets: 3,
  };
  test("a well-formed snapshot passes; each malformed field is named", () => {
    expect(snapshotProblem(good)).toBeNull();
    expect(snapshotProblem({ ...good, buckets: [] })).toBeNull();
    expect(snapshotProblem(null)).toBe("must be an object");
    expect(snapshotProblem({ ...good, rss: -1 })).toStartWith("rss:");
    expect(snapshotProblem({ ...good, metered: "yes" })).toStartWith("metered:");
    expect(snapshotProblem({ ...good, buckets: [1, 2] })).toStartWith("buckets:");
    expect(snapshotProblem({ ...good, counts: [["get", 200, 1]] })).toStartWith("counts:");
    expect(snapshotProblem({ ...good, counts: [["GET", "200", 1]] })).toStartWith("counts:");
    expect(snapshotProblem({ ...good, durationSum: Number.NaN })).toStartWith("durationSum:");
    expect(snapshotProblem({ ...good, websockets: 1.5 })).toStartWith("websockets:");
  });
});
