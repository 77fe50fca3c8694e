import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { outputOf } from "../../scripts/lib/procs.ts";
import { joinAcross, leave } from "../helpers/chat.ts";
import {
  FIXTURES,
  fleetStatus,
  freshFetch,
  NO_EXTRAS,
  ROOT,
  seeWorkers,
  startReadyFleet,
  TOKEN,
  waitFor,
  within,
} from "../helpers/fleet.ts";
import { parsePrometheus, sumBy } from "../helpers/prometheus.ts";
import { connectMany, wsUrl } from "../helpers/websockets.ts";

const auth = { authorization: `Bearer ${TOKEN}` };

/** `bun run status` (or another admin command) for the fleet on `port`, to completion. */
async function adminCli(command: string, port: number, args: string[] = []) {
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", `${command}.ts`), ...args], {
    env: { PATH: process.env.PATH ?? "", PORT: String(port), ADMIN_TOKEN: TOKEN },
    stdout: "pipe",
    stderr: "pipe",
  });
  const { stdout, stderr, code } = await outputOf(proc);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  return { stdout };
}

describe("status and metrics", () => {
  test("GET /admin/status names the real primary, worker and extra pids, and counts requests", async () => {
    const fleet = await startReadyFleet();
    const seen = await seeWorkers(fleet.url("/worker"), [0, 1]);
    const s = await fleetStatus(fleet.url);
    expect(s.fleet.pid).toBe(fleet.pid);
    expect(s.fleet.state).toBe("running");
    expect(s.fleet.workers).toEqual({ configured: 2, current: 2, atStart: 2 });
    expect(s.workers.map((w) => [w.index, w.pid])).toEqual([
      [0, seen.get(0)?.pid as number],
      [1, seen.get(1)?.pid as number],
    ]);
    const children = [...s.workers, ...s.extras].map((p) => p.pid).sort();
    expect(children).toEqual(
      fleet
        .pids()
        .filter((pid) => pid !== fleet.pid)
        .sort(),
    );
    expect(s.extras.map((e) => `${e.name}#${e.index}`)).toEqual(["ticker#0"]);
    for (const p of [...s.workers, ...s.extras]) {
      expect(p).toMatchObject({ state: "ready", answered: true, restarts: 0, crashes: 0 });
      expect(p.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(p.heartbeatAgeMs).toBeLessThan(5000);
    }
    // seeWorkers sent one /worker request per try; every one of them is an app request.
    const served = s.workers.reduce((sum, w) => sum + (w.requests ?? 0), 0);
    expect(served).toBeGreaterThanOrEqual(2);
    expect(s.extras[0]?.requests).toBeNull();
  });

  test("without the token /admin/status and /metrics are 401; the /admin page loads and holds no data", async () => {
    const fleet = await startReadyFleet({ env: NO_EXTRAS });
    for (const path of ["/admin/status", "/metrics"]) {
      expect((await fetch(fleet.url(path))).status).toBe(401);
      const wrong = await fetch(fleet.url(path), {
        headers: { authorization: "Bearer nope-nope-nope-nope" },
      });
      expect(wrong.status).toBe(401);
    }
    const page = await fetch(fleet.url("/admin"));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("/admin/status");
    // The page is the file as it is on disk, byte for byte: no pid, token or number of this fleet
    // is in it. (Looking for each pid in the page failed whenever a pid was a number the page
    // holds anyway, such as 520 in its CSS.)
    const file = join(ROOT, "workers", "child", "http", "dashboard.html");
    expect(html).toBe(await Bun.file(file).text());
  });

  test("GET /metrics parses strictly and its request counts add up per status over the worker label", async () => {
    const fleet = await startReadyFleet({ env: NO_EXTRAS });
    const sent: [string, RequestInit, string][] = [
      ...Array.from({ length: 6 }, () => ["/", {}, "GET 200"] as [string, RequestInit, string]),
      ...Array.from({ length: 3 }, () => ["/nope", {}, "GET 404"] as [string, RequestInit, string]),
      [
        "/api/echo",
        {
          method: "POST",
          body: '{"message":"hi"}',
          headers: { "content-type": "application/json" },
        },
        "POST 200",
      ],
      [
        "/api/echo",
        { method: "POST", body: '{"message":""}', headers: { "content-type": "application/json" } },
        "POST 422",
      ],
    ];
    for (const [path, init] of sent) await freshFetch(fleet.url(path), init);
    // The fleet's own routes are never app requests.
    for (const path of ["/healthz", "/readyz", "/admin"]) await freshFetch(fleet.url(path));
    await fetch(fleet.url("/admin/status"), { headers: auth });
    const res = await fetch(fleet.url("/metrics"), { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const { samples, types } = parsePrometheus(await res.text());
    expect(types.get("http_requests_total")).toBe("counter");
    expect(types.get("http_request_duration_seconds")).toBe("histogram");
    const expected: Record<string, number> = {};
    for (const [, , key] of sent) expected[key] = (expected[key] ?? 0) + 1;
    expect(sumBy(samples, "http_requests_total", (l) => `${l.method} ${l.status}`)).toEqual(
      expected,
    );
    const perWorker = sumBy(samples, "http_requests_total", (l) => l.worker as string);
    expect(Object.keys(perWorker).sort()).toEqual(["0", "1"].filter((w) => perWorker[w]));
    const counts = sumBy(samples, "http_request_duration_seconds_count", () => "all");
    expect(counts.all).toBe(sent.length);
    const inf = sumBy(samples, "http_request_duration_seconds_bucket", (l) => l.le as string);
    expect(inf["+Inf"]).toBe(sent.length);
    const up = sumBy(samples, "fleet_worker_up", (l) => l.worker as string);
    expect(up).toEqual({ "0": 1, "1": 1 });
    const rss = samples.filter((s) => s.name === "fleet_process_resident_memory_bytes");
    expect(rss.map((s) => Number(s.labels.pid)).sort()).toEqual(fleet.pids().sort());
    expect(sumBy(samples, "fleet_restarts_total", () => "all")).toEqual({ all: 0 });
  });

  test("pub/sub and WebSocket numbers: messages, relays and drops in /metrics and status, open sockets per worker", async () => {
    const fleet = await startReadyFleet({ env: NO_EXTRAS }); // the test app's room
    const clients = await joinAcross(fleet.port, "metrics", 2, 2);
    const scrape = async () => {
      const res = await fetch(fleet.url("/metrics"), { headers: auth });
      return parsePrometheus(await res.text()).samples;
    };
    try {
      const sender = clients.find((c) => c.worker === 0);
      if (!sender) throw new Error("no client on worker 0");
      for (let i = 0; i < 5; i++) sender.ws.send(`m${i}`);
      await waitFor("every client to get 5 messages", () =>
        clients.every((c) => c.messages.length >= 5),
      );
      const samples = await scrape();
      const by = (name: string, label: string) => sumBy(samples, name, (l) => l[label] ?? "");
      expect(by("fleet_pubsub_messages_total", "source")).toEqual({ worker: 5, redis: 0 });
      expect(by("fleet_pubsub_relayed_total", "")).toEqual({ "": 5 }); // to the one other worker
      expect(by("fleet_pubsub_dropped_total", "reason")).toEqual({
        slow_worker: 0,
        redis_unavailable: 0,
      });
      const open = by("fleet_websockets_open", "worker");
      expect(open["0"]).toBeGreaterThanOrEqual(2);
      expect((open["0"] ?? 0) + (open["1"] ?? 0)).toBe(clients.length);
      const s = await fleetStatus(fleet.url);
      expect(s.fleet.pubsub.hub).toMatchObject({ published: 5, relayed: 5, dropped: 0 });
      expect(s.fleet.pubsub.redis).toBeNull();
      expect(s.workers.reduce((sum, w) => sum + (w.websockets ?? 0), 0)).toBe(clients.length);
    } finally {
      await leave(clients);
    }
    await waitFor("the gauge to drop to 0 once the clients left", async () => {
      const open = sumBy(await scrape(), "fleet_websockets_open", () => "all");
      return open.all === 0;
    });
  });

  test("METRICS_PUBLIC=1 serves /metrics without the token; METRICS=0 counts no requests", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, METRICS_PUBLIC: "1", METRICS: "0" },
    });
    await freshFetch(fleet.url("/"));
    const res = await fetch(fleet.url("/metrics"));
    expect(res.status).toBe(200);
    const { samples } = parsePrometheus(await res.text());
    expect(samples.filter((s) => s.name.startsWith("http_"))).toEqual([]);
    expect(sumBy(samples, "fleet_worker_up", (l) => l.worker as string)).toEqual({
      "0": 1,
      "1": 1,
    });
    expect((await fetch(fleet.url("/admin/status"))).status).toBe(401);
    const s = await fleetStatus(fleet.url);
    expect(s.workers.map((w) => w.requests)).toEqual([null, null]);
  });

  test("a process that does not answer in time is reported as such, and the answer still comes", async () => {
    const fleet = await startReadyFleet({ env: { COLLECT_TIMEOUT_MS: "300" } });
    const before = await fleetStatus(fleet.url);
    const extra = before.extras[0]?.pid as number;
    process.kill(extra, "SIGSTOP");
    try {
      const started = performance.now();
      const s = await fleetStatus(fleet.url);
      const ms = performance.now() - started;
      expect(ms).toBeLessThan(within(1500));
      expect(s.extras[0]).toMatchObject({ pid: extra, answered: false, rssBytes: null });
      expect(s.workers.every((w) => w.answered)).toBe(true);
      const metrics = await (await fetch(fleet.url("/metrics"), { headers: auth })).text();
      expect(metrics).toContain('fleet_extra_up{extra="ticker#0"} 0');
    } finally {
      process.kill(extra, "SIGCONT");
    }
    await waitFor("the extra to answer again", async () => {
      const s = await fleetStatus(fleet.url);
      return s.extras[0]?.answered;
    });
  });
});

describe("restarts apart from planned replacements", () => {
  test("a rolling reload counts replacements and no restart; a SIGKILLed worker counts a restart and a crash (status, table, /metrics)", async () => {
    const fleet = await startReadyFleet({
      env: {
        ...NO_EXTRAS,
        APP_MODULE: join(FIXTURES, "socket-room-app.ts"),
        DRAIN_WINDOW_MS: "50",
      },
    });
    const counters = async () => {
      const res = await fetch(fleet.url("/metrics"), { headers: auth });
      const { samples } = parsePrometheus(await res.text());
      const all = (name: string) => sumBy(samples, name, () => "all").all;
      const replacements = sumBy(samples, "fleet_replacements_total", (l) => l.reason ?? "");
      return {
        restarts: all("fleet_restarts_total"),
        crashes: all("fleet_crashes_total"),
        replacements,
      };
    };
    const table = async () => (await adminCli("status", fleet.port)).stdout;

    // WebSocket and pub/sub numbers: in the JSON, and now in the table too.
    const clients = await connectMany(wsUrl(fleet.port, "/room"), 3);
    clients[0]?.ws.send("hi");
    await waitFor("the message to reach every client", () =>
      clients.every((c) => c.messages.includes("hi")),
    );
    const open = await fleetStatus(fleet.url);
    expect(open.workers.reduce((sum, w) => sum + (w.websockets ?? 0), 0)).toBe(3);
    expect(open.fleet.pubsub.hub.published).toBe(1);
    const { hub } = open.fleet.pubsub;
    const first = await table();
    expect(first).toContain(
      `\nwebsockets 3, sse 0; pub/sub: published 1, relayed ${hub.relayed}, dropped 0\n`,
    );
    expect(first).toMatch(
      /name +pid +state +uptime +requests +websockets +sse +restarts +crashes +replaced +rss +heartbeat/,
    );
    for (const w of open.workers) {
      expect(first).toMatch(
        new RegExp(`worker ${w.index} +${w.pid} +ready +.* ${w.websockets} +0 +0 +0 +0 +`),
      );
    }
    for (const c of clients) c.ws.close();

    const before = open.workers.map((w) => w.pid);
    expect(
      (await fetch(fleet.url("/admin/reload"), { method: "POST", headers: auth })).status,
    ).toBe(202);
    const reloaded = await waitFor("the reload to complete", async () => {
      const s = await fleetStatus(fleet.url);
      const done = s.fleet.lastReload?.outcome === "complete" && s.workers.length === 2;
      return done ? s : null;
    });
    expect(reloaded.workers.every((w) => !before.includes(w.pid))).toBe(true);
    for (const w of reloaded.workers)
      expect(w).toMatchObject({ restarts: 0, crashes: 0, replacements: 1 });
    expect(reloaded.fleet).toMatchObject({
      restarts: 0,
      crashes: 0,
      replacements: { reload: 2, recycle: 0 },
    });
    expect(await counters()).toEqual({
      restarts: 0,
      crashes: 0,
      replacements: { reload: 2, recycle: 0 },
    });
    const afterReload = await table();
    expect(afterReload).toContain("restarts 0, crashes 0, replaced 2 (reload 2)");
    for (const w of reloaded.workers) {
      expect(afterReload).toMatch(
        new RegExp(`worker ${w.index} +${w.pid} +ready +.* 0 +0 +1 +[\\d.]+ MB`),
      );
    }

    const victim = reloaded.workers[0] as (typeof reloaded.workers)[0];
    process.kill(victim.pid, "SIGKILL");
    const respawned = await waitFor("worker 0 to be respawned and ready", async () => {
      const s = await fleetStatus(fleet.url);
      const w0 = s.workers.find((w) => w.index === 0);
      return w0 && w0.pid !== victim.pid && w0.state === "ready" ? s : null;
    });
    expect(respawned.workers.map((w) => [w.index, w.restarts, w.crashes, w.replacements])).toEqual([
      [0, 1, 1, 1],
      [1, 0, 0, 1],
    ]);
    expect(respawned.fleet).toMatchObject({
      restarts: 1,
      crashes: 1,
      replacements: { reload: 2, recycle: 0 },
    });
    expect(await counters()).toEqual({
      restarts: 1,
      crashes: 1,
      replacements: { reload: 2, recycle: 0 },
    });
    expect(await table()).toContain("restarts 1, crashes 1, replaced 2 (reload 2)");
  }, 20_000);
});
