import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { FleetStatus } from "../../workers/primary/observe/status.ts";
import {
  admin,
  count,
  FIXTURES,
  freshFetch,
  NO_EXTRAS,
  seeWorkers,
  startFleet,
  startReadyFleet,
  TOKEN,
  timed,
  type WorkerInfo,
  waitFor,
} from "../helpers/fleet.ts";

describe("hang detection", () => {
  const env = {
    ...NO_EXTRAS,
    APP_MODULE: join(FIXTURES, "busy-app.ts"),
    WORKER_TIMEOUT_MS: "1000",
    RESPAWN_BACKOFF_MS: "10",
  };

  test("a worker whose event loop is blocked is killed and replaced within timeout + 1 s", async () => {
    const fleet = await startReadyFleet({ env: { ...env, WORKERS: "1" } });
    const [old] = (await seeWorkers(fleet.url("/worker"), [0])).values() as Iterable<WorkerInfo>;
    void fetch(fleet.url("/block?ms=60000")).catch(() => {});
    await waitFor("the worker to block", () => fleet.stderr().includes("blocking worker 0"));
    const { ms } = await timed(
      waitFor(
        "a new worker in slot 0",
        async () => {
          const info = (await (await freshFetch(fleet.url("/worker"))).json()) as WorkerInfo;
          return info.pid !== old?.pid;
        },
        3000,
      ),
    );
    expect(ms).toBeLessThan(2000);
    expect(fleet.stderr()).toMatch(
      /worker 0 \(pid \d+\) hung: no heartbeat for \d+ ms; SIGTERM, then SIGKILL/,
    );
    expect(fleet.stderr()).toContain("hung (no heartbeat) and was killed by SIGKILL");
  });

  test("a worker busy with CPU work that yields is never killed", async () => {
    const fleet = await startReadyFleet({ env });
    const res = await fetch(fleet.url("/busy?ms=2500"));
    expect(res.status).toBe(200);
    expect(fleet.stderr()).not.toContain("hung");
  });
});

describe("scaling", () => {
  test("SIGTTIN adds a worker; SIGTTOU twice from 2 leaves 1, never 0", async () => {
    const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, DRAIN_WINDOW_MS: "0" } });
    fleet.kill("SIGTTIN");
    await seeWorkers(fleet.url("/worker"), [0, 1, 2]);
    fleet.kill("SIGTTOU");
    await waitFor("3 -> 2", () => fleet.stderr().includes("3 -> 2 worker(s)"));
    fleet.kill("SIGTTOU");
    await waitFor("2 -> 1", () => fleet.stderr().includes("2 -> 1 worker(s)"));
    fleet.kill("SIGTTOU");
    await waitFor("the refusal", () => fleet.stderr().includes("never fewer than 1"));
    await waitFor("two retired workers to exit", () => fleet.pids().length === 2);
    for (let i = 0; i < 10; i++) {
      expect(((await (await freshFetch(fleet.url("/worker"))).json()) as WorkerInfo).index).toBe(0);
    }
  });

  test("SIGTTIN sent at the first answer, while the fleet still starts, brings 3 workers from 2: 20 starts in a row", async () => {
    const env = {
      HOOKS_MODULE: join(FIXTURES, "slow-second-worker-hooks.ts"),
      // Workers listen once onStart resolves: worker 1's must outlast worker 0's whole boot.
      SLOW_BOOT_MS: "600",
    };
    for (let run = 0; run < 20; run++) {
      const fleet = await startFleet({ env });
      await waitFor(
        "the first answer",
        () => fetch(fleet.url("/healthz")).then((r) => r.ok),
        5000,
        2,
      );
      expect(fleet.stdout()).not.toContain("bun-fleet: serving"); // worker 1 is still booting
      fleet.kill("SIGTTIN");
      await waitFor(
        () => `run ${run}: 2 -> 3\n${fleet.stderr()}`,
        () => fleet.stderr().includes("scaling (SIGTTIN): 2 -> 3 worker(s)"),
      );
      expect(fleet.stderr()).toContain("scaling (SIGTTIN) queued: runs once every worker is ready");
      await seeWorkers(fleet.url("/worker"), [0, 1, 2]);
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
    }
  }, 60_000);

  test("a reload asked for while starting runs once running; a stop while starting drops it", async () => {
    const env = { HOOKS_MODULE: join(FIXTURES, "slow-second-worker-hooks.ts") };
    const fleet = await startFleet({ env });
    await waitFor(
      "the first answer",
      () => fetch(fleet.url("/healthz")).then((r) => r.ok),
      5000,
      2,
    );
    fleet.kill("SIGHUP");
    await waitFor("the reload to complete", () =>
      /reload \(SIGHUP\) complete/.test(fleet.stderr()),
    );
    const dropped = await startFleet({ env });
    await waitFor(
      "the first answer",
      () => fetch(dropped.url("/healthz")).then((r) => r.ok),
      5000,
      2,
    );
    dropped.kill("SIGHUP");
    await waitFor("the reload to be queued", () =>
      dropped.stderr().includes("reload (SIGHUP) queued"),
    );
    dropped.kill("SIGTERM");
    expect(await dropped.exited).toBe(0);
    expect(dropped.stderr()).toContain("reload (SIGHUP) dropped: the fleet is stopping");
  });

  test("POST /admin/scale sets the worker count; nonsense is 422", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, WORKER_CONTEXTS: '[{"s":"a"},{"s":"b"}]' },
    });
    expect((await admin(fleet.url("/admin/scale"), { workers: -1 })).status).toBe(422);
    expect((await admin(fleet.url("/admin/scale"), { workers: "many" })).status).toBe(422);
    const res = await admin(fleet.url("/admin/scale"), { workers: 3 });
    expect(res.status).toBe(202);
    const seen = await seeWorkers(fleet.url("/worker"), [0, 1, 2]);
    expect(seen.get(1)?.context).toEqual({ s: "b" });
    expect(seen.get(2)?.context).toBeNull(); // no WORKER_CONTEXTS entry for a new slot
  });
});

describe("recycling", () => {
  test("MAX_REQUESTS=50 under load recycles workers with 0 failed requests", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, MAX_REQUESTS: "50", DRAIN_WINDOW_MS: "300" },
    });
    let failed = 0;
    let ok = 0;
    // Load runs until two recycled workers have fully retired (listener closed), at most 8 s.
    const end = performance.now() + 8000;
    const retired = () => count(fleet.stderr(), /retired \(drained\)/g) >= 2;
    const client = async () => {
      while (!retired() && performance.now() < end) {
        try {
          const res = await fetch(fleet.url("/"));
          await res.arrayBuffer();
          if (res.status === 200) ok += 1;
          else failed += 1;
        } catch {
          failed += 1;
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    expect(retired()).toBe(true);
    expect(fleet.stderr()).toContain("served 50 requests (MAX_REQUESTS)");
    expect(fleet.stderr()).toMatch(
      /recycle: worker \d \(pid \d+\) serves slot \d; worker \d \(pid \d+\) retires/,
    );
    expect(ok).toBeGreaterThan(100);
    expect(failed).toBe(0);
  });

  test("MAX_MEMORY_MB recycles a worker whose RSS is above it", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, WORKERS: "1", MAX_MEMORY_MB: "32", WORKER_TIMEOUT_MS: "500" },
    });
    await waitFor("a memory recycle", () => fleet.stderr().includes("recycle: worker 0"));
    expect(fleet.stderr()).toMatch(/RSS \d+ MB > MAX_MEMORY_MB 32: asking to be recycled/);
    expect(fleet.stderr()).toContain("reached max-memory");
    // A recycle is a planned replacement, not a restart.
    const res = await fetch(fleet.url("/admin/status"), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const { fleet: counts } = (await res.json()) as FleetStatus;
    expect(counts).toMatchObject({ restarts: 0, crashes: 0, replacements: { reload: 0 } });
    expect(counts.replacements.recycle).toBeGreaterThanOrEqual(1);
  });
});

describe("extra processes", () => {
  test("an extra starts with the fleet, is respawned after SIGKILL, and stops with it", async () => {
    const fleet = await startReadyFleet({
      env: { HOOKS_MODULE: join(FIXTURES, "extras-hooks.ts"), RESPAWN_BACKOFF_MS: "10" },
    });
    expect(fleet.stdout()).toMatch(/extras consumer#0 pid \d+/);
    const first = Number(/consumer#0 started as pid (\d+)/.exec(fleet.stderr())?.[1]);
    process.kill(first, "SIGKILL");
    const second = await waitFor("a respawned consumer", () => {
      const pids = [...fleet.stderr().matchAll(/consumer#0 started as pid (\d+)/g)].map((m) =>
        Number(m[1]),
      );
      return pids.find((pid) => pid !== first);
    });
    expect(fleet.pids()).toContain(second);
    const res = await admin(fleet.url("/admin/stop"));
    expect(res.status).toBe(202);
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
    expect(fleet.stderr()).toContain("consumer#0 stopping (admin-stop)");
    expect(fleet.stderr()).toMatch(/extra consumer#0 \(pid \d+\) drained and exited/);
  });
});
