import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { slowClient } from "../../scripts/load/slow-client.ts";
import { FIXTURES, NO_EXTRAS, startReadyFleet, timed, waitFor, within } from "../helpers/fleet.ts";

const FLOOD_APP = { ...NO_EXTRAS, APP_MODULE: join(FIXTURES, "flood-app.ts"), FLOOD_MS: "500" };

describe("WebSocket limits", () => {
  test("a flood to clients that never read stays bounded by WS_BACKPRESSURE_LIMIT_BYTES, and they cannot hold a stop", async () => {
    const fleet = await startReadyFleet({ env: { ...FLOOD_APP, WORKERS: "1" } });
    const rss = async () => Number((await (await fetch(fleet.url("/"))).text()).split(" ")[1]);
    const before = await rss();
    const clients = await Promise.all(Array.from({ length: 4 }, () => slowClient(fleet.port)));
    try {
      await waitFor(
        "every flood to finish",
        () => fleet.stderr().match(/flood done/g)?.length === 4,
      );
      const done = [...fleet.stderr().matchAll(/dropped (\d+), rss (\d+)/g)];
      for (const [, dropped] of done) expect(Number(dropped)).toBeGreaterThan(0);
      // Each client is offered tens of MB; at the 1 MiB default the worker grows ~1.3 MB per
      // client (at Bun's own 16 MiB default, ~20 MB per client: this fails; measured).
      const peak = Math.max(...done.map(([, , bytes]) => Number(bytes)));
      expect(peak - before).toBeLessThan(32 * 2 ** 20);
      // Clients that never read (so never see the close) cannot hold the drain either.
      fleet.kill("SIGTERM");
      const { ms, value: code } = await timed(fleet.exited);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(within(2000, 5000)); // the deadline is 5 s
    } finally {
      for (const client of clients) client.destroy();
    }
  });
});
