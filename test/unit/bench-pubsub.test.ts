import { describe, expect, test } from "bun:test";
import { fitSentence, type PubsubRow } from "../../scripts/bench/pubsub-report.ts";

const row = (workers: number, primaryUs: number): PubsubRow => ({
  workers,
  rate: 4000,
  listening: workers,
  sent: 1,
  delivered: 1,
  expected: 1,
  primaryUs,
  workersUs: 10,
});

describe("pub/sub cost report", () => {
  test("a primary cost that grows with workers is extrapolated to a 64-worker ceiling", () => {
    // 10 + 5 µs per worker: 330 µs at 64 workers, 3,030 publishes/s
    const rows = [row(2, 20), row(4, 30), row(8, 50), row(16, 90)];
    expect(fitSentence(rows)).toBe(
      "Least-squares fit of the primary's cost: 10.0 + 5.00 µs per worker; at 64 workers 330.0 µs per publish, a ceiling of 3,030 publishes/s for the whole fleet",
    );
  });

  test("a flat or falling one (idle noise) sets no ceiling, and no negative µs is extrapolated", () => {
    const rows = [row(2, 0.9), row(4, 0.4), row(8, -1.1), row(16, -1.7)];
    const sentence = fitSentence(rows) ?? "";
    expect(sentence).toContain("- 0.19 µs per worker: it does not grow with workers");
    expect(sentence).toContain("the primary sets no ceiling");
    expect(sentence).not.toMatch(/at 64 workers -/);
    expect(fitSentence([row(2, 1)])).toBeNull();
  });
});
