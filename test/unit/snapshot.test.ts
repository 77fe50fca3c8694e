import { describe, expect, test } from "bun:test";
import { snapshotProblem } from "../../workers/snapshot.ts";

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
    sseStreams: 2,
    sseCut: 0,
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
    expect(snapshotProblem({ ...good, sseStreams: -1 })).toStartWith("sseStreams:");
    expect(snapshotProblem({ ...good, sseCut: undefined })).toStartWith("sseCut:");
  });
});
