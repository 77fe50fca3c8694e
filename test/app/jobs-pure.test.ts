import { describe, expect, test } from "bun:test";
import { cronProblem, nextTick, parseCron } from "../../app/jobs/cron.ts";
import { backoffMs } from "../../app/jobs/queue.ts";

describe("backoffMs", () => {
  test("doubles from the base each attempt, without jitter", () => {
    const plain = (n: number) => backoffMs(n, 1000, { jitter: 0 });
    expect([1, 2, 3, 4].map(plain)).toEqual([1000, 2000, 4000, 8000]);
  });

  test("is capped at maxMs", () => {
    expect(backoffMs(40, 1000, { jitter: 0 })).toBe(3_600_000);
    expect(backoffMs(5, 1000, { jitter: 0, maxMs: 5000 })).toBe(5000);
  });

  test("jitter stays within ±20% (random 0 and 1 are the edges)", () => {
    expect(backoffMs(2, 1000, { random: () => 0 })).toBe(1600);
    expect(backoffMs(2, 1000, { random: () => 1 })).toBe(2400);
    expect(backoffMs(2, 1000, { random: () => 0.5 })).toBe(2000);
  });
});

describe("nextTick", () => {
  const at = (iso: string) => Date.parse(iso);

  test("every second: the next whole second, strictly after", () => {
    const cron = parseCron("* * * * * *");
    expect(nextTick(cron, at("2026-12-07T04:00:00.400Z"))).toBe(at("2026-12-07T04:00:01.000Z"));
    expect(nextTick(cron, at("2026-12-07T04:00:01.000Z"))).toBe(at("2026-12-07T04:00:02.000Z"));
  });

  test("five fields are minutes: hourly is at minute 0 of each hour, in UTC", () => {
    const cron = parseCron("0 * * * *");
    expect(nextTick(cron, at("2026-12-07T04:13:45.000Z"))).toBe(at("2026-12-07T05:00:00.000Z"));
  });

  test("every 15 s with seconds first", () => {
    const cron = parseCron("*/15 * * * * *");
    expect(nextTick(cron, at("2026-12-07T04:00:14.999Z"))).toBe(at("2026-12-07T04:00:15.000Z"));
    expect(nextTick(cron, at("2026-12-07T04:00:15.000Z"))).toBe(at("2026-12-07T04:00:30.000Z"));
  });

  test("a daily schedule is the same tick whatever the host's time zone (UTC)", () => {
    const cron = parseCron("0 30 2 * * *");
    expect(nextTick(cron, at("2026-12-07T12:00:00.000Z"))).toBe(at("2026-12-08T02:30:00.000Z"));
  });
});

describe("cronProblem", () => {
  test("accepts 5 and 6 fields", () => {
    expect(cronProblem("0 * * * *")).toBeNull();
    expect(cronProblem("* * * * * *")).toBeNull();
  });

  test("names a bad expression", () => {
    expect(cronProblem("every hour")).toStartWith("is not a cron expression");
    expect(cronProblem("61 * * * *")).toStartWith("is not a cron expression");
  });
});

describe("the job settings (app/config.ts)", () => {
  test("defaults: one job process, 4 jobs at once", async () => {
    const { settings } = await import("../../app/config.ts");
    expect(settings.parse({})).toMatchObject({ JOBS_PROCESSES: 1, JOBS_CONCURRENCY: 4 });
  });

  test("a bad JOBS_CONCURRENCY or JOBS_PROCESSES is refused naming it", async () => {
    const { settings } = await import("../../app/config.ts");
    const bad = settings.safeParse({ JOBS_CONCURRENCY: "0", JOBS_PROCESSES: "-1" });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((issue) => issue.path.join(".")).sort();
    expect(paths).toEqual(["JOBS_CONCURRENCY", "JOBS_PROCESSES"]);
  });
});
