import { describe, expect, test } from "bun:test";
import { interpretSignal, SIGINT_COALESCE_MS } from "../../workers/primary/signals.ts";

describe("signals", () => {
  const calm = { stopping: false, msSinceLastSigint: Number.POSITIVE_INFINITY };

  test("SIGTERM, SIGQUIT and a first SIGINT stop gracefully", () => {
    expect(interpretSignal("SIGTERM", calm)).toEqual({ action: "stop", reason: "SIGTERM" });
    expect(interpretSignal("SIGQUIT", calm)).toEqual({ action: "stop", reason: "SIGQUIT" });
    expect(interpretSignal("SIGINT", calm)).toEqual({ action: "stop", reason: "SIGINT" });
  });

  test("a later SIGINT while stopping forces; one inside the window is the same key press", () => {
    const later = { stopping: true, msSinceLastSigint: SIGINT_COALESCE_MS + 1 };
    expect(interpretSignal("SIGINT", later)).toEqual({ action: "force" });
    const echo = { stopping: true, msSinceLastSigint: 0.2 };
    expect(interpretSignal("SIGINT", echo).action).toBe("ignore");
  });

  test("SIGTERM while stopping does not force", () => {
    const stopping = { stopping: true, msSinceLastSigint: Number.POSITIVE_INFINITY };
    expect(interpretSignal("SIGTERM", stopping).action).toBe("stop");
  });
});
