import { describe, expect, test } from "bun:test";
import type { FleetHistoryJson } from "../../workers/primary/observe/history-json.ts";
import {
  admin,
  fleetStatus,
  NO_EXTRAS,
  startReadyFleet,
  TOKEN,
  waitFor,
} from "../helpers/fleet.ts";

const auth = { authorization: `Bearer ${TOKEN}` };

async function history(url: string): Promise<FleetHistoryJson> {
  const res = await fetch(url, { headers: auth });
  expect(res.status).toBe(200);
  return (await res.json()) as FleetHistoryJson;
}

describe("history", () => {
  test("GET /admin/history holds a sample a second with the load each worker served, oldest first", async () => {
    const fleet = await startReadyFleet({ env: NO_EXTRAS });
    expect((await fetch(fleet.url("/admin/history"))).status).toBe(401);
    const bad = await fetch(fleet.url("/admin/history?since=yesterday"), { headers: auth });
    expect(bad.status).toBe(400);
    // ~2 s of steady load on keep-alive connections.
    const until = Date.now() + 2000;
    let sent = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < until) {
          await (await fetch(fleet.url("/hello"))).text();
          sent += 1;
        }
      }),
    );
    const status = await fleetStatus(fleet.url);
    const pids = status.workers.map((w) => w.pid).sort();
    const h = await waitFor("samples that saw the load", async () => {
      const h = await history(fleet.url("/admin/history"));
      const busy = h.samples.filter((s) => (s.rps ?? 0) > 0);
      return busy.length >= 2 ? h : null;
    });
    expect(h.intervalMs).toBe(1000);
    const times = h.samples.map((s) => s.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThan(500);
    const last = h.samples.at(-1);
    expect(last?.workers.map((w) => w.pid).sort()).toEqual(pids);
    expect(last?.primaryRssBytes).toBeGreaterThan(10e6);
    expect(last?.rssBytes).toBeGreaterThan(30e6);
    // Requests/s summed over the samples * 1 s roughly recounts what was sent.
    const counted = h.samples.reduce((sum, s) => sum + (s.rps ?? 0) * (h.intervalMs / 1000), 0);
    expect(counted).toBeGreaterThan(sent * 0.5);
    expect(counted).toBeLessThan(sent * 1.5 + 10);
    const busy = h.samples.filter((s) => (s.rps ?? 0) > 0);
    for (const s of busy) expect(s.p99Ms).toBeGreaterThan(0);
    // Each sample lists both workers, and their requests/s add up to the fleet's.
    for (const s of h.samples) {
      expect(s.workers.map((w) => w.index).sort()).toEqual([0, 1]);
      const sum = s.workers.reduce((total, w) => total + (w.rps ?? 0), 0);
      expect(sum).toBeCloseTo(s.rps ?? 0, 1);
    }
    // ?since= answers only what is newer.
    const since = times.at(-2) as number;
    const newer = await history(fleet.url(`/admin/history?since=${since}`));
    expect(newer.samples.length).toBeGreaterThanOrEqual(1);
    for (const s of newer.samples) expect(s.t).toBeGreaterThan(since);
  }, 20_000);

  test("a rolling reload, a crash with its respawn, and scaling are marked on the history", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, DRAIN_WINDOW_MS: "50", RESPAWN_BACKOFF_MS: "100" },
    });
    const before = Date.now();
    expect((await admin(fleet.url("/admin/reload"))).status).toBe(202);
    const h = await waitFor("the reload's markers", async () => {
      const h = await history(fleet.url("/admin/history"));
      return h.events.some((e) => e.text === "reload complete") ? h : null;
    });
    const reload = h.events.filter((e) => e.kind === "reload");
    expect(reload.map((e) => e.text)).toEqual([
      expect.stringMatching(/^reload started \(requested by worker [01] \(pid \d+\)\)$/),
      "reload complete",
    ]);
    expect(reload[0]?.t).toBeGreaterThanOrEqual(before - 1000);
    expect(h.events.filter((e) => e.kind === "restart" || e.kind === "crash")).toEqual([]);

    // A killed worker is a crash, and its respawn a restart; then scaling is marked too.
    const status = await fleetStatus(fleet.url);
    process.kill(status.workers[0]?.pid as number, "SIGKILL");
    const crashed = await waitFor("the crash and restart markers", async () => {
      const { events } = await history(fleet.url("/admin/history"));
      const kinds = events.map((e) => e.kind);
      return kinds.includes("crash") && kinds.includes("restart") ? events : null;
    });
    expect(crashed.filter((e) => e.kind !== "reload").map((e) => e.text)).toEqual([
      "1 process(es) exited unexpectedly",
      "1 process(es) respawned",
    ]);
    expect((await admin(fleet.url("/admin/scale"), { workers: 3 })).status).toBe(202);
    await waitFor("the scale marker", async () => {
      const { events } = await history(fleet.url("/admin/history"));
      return events.some((e) => e.kind === "scale" && e.text === "scaled to 3 worker(s)");
    });
  }, 20_000);
});
