import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  FIXTURES,
  freshFetch,
  seeWorkers,
  startReadyFleet,
  TOKEN,
  type WorkerInfo,
  waitFor,
} from "../helpers/fleet.ts";

describe("serving", () => {
  test("two workers share the port: over 200 fresh connections both answer", async () => {
    const fleet = await startReadyFleet();
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const res = await freshFetch(fleet.url("/"));
      expect(res.status).toBe(200);
      const index = res.headers.get("x-worker-index") ?? "missing";
      counts.set(index, (counts.get(index) ?? 0) + 1);
      await res.arrayBuffer();
    }
    expect([...counts.keys()].sort()).toEqual(["0", "1"]);
  });

  test("each worker gets its own entry of WORKER_CONTEXTS", async () => {
    const contexts = [{ shard: "a" }, { shard: "b" }];
    const fleet = await startReadyFleet({
      env: { WORKER_CONTEXTS: JSON.stringify(contexts), WORKERS: "" },
    });
    const seen = await seeWorkers(fleet.url("/worker"), [0, 1]);
    expect(seen.get(0)?.context).toEqual({ shard: "a" });
    expect(seen.get(1)?.context).toEqual({ shard: "b" });
  });

  test("contexts from WORKER_CONTEXTS_FILE reach their workers", async () => {
    const file = join(FIXTURES, "contexts.json");
    const fleet = await startReadyFleet({ args: ["--contexts-file", file], env: { WORKERS: "" } });
    const seen = await seeWorkers(fleet.url("/worker"), [0, 1]);
    expect(seen.get(0)?.context).toEqual({ region: "eu", weight: 1 });
    expect(seen.get(1)?.context).toEqual({ region: "us", weight: 2 });
  });

  test("without ADMIN_TOKEN the banner prints a generated token that stops the fleet", async () => {
    const fleet = await startReadyFleet({ env: { ADMIN_TOKEN: "" } });
    const token = /authorization: Bearer ([A-Za-z0-9_-]+)/.exec(fleet.stdout())?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const res = await fetch(fleet.url("/admin/stop"), {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(202);
    expect(await fleet.exited).toBe(0);
  });

  test("fleet routes answer ahead of the app and carry x-worker-index", async () => {
    const fleet = await startReadyFleet({ env: { WORKERS: "1" } });
    const health = await fetch(fleet.url("/healthz"));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect(health.headers.get("x-worker-index")).toBe("0");
    const ready = await fetch(fleet.url("/readyz"));
    expect(ready.status).toBe(200);
    expect((await fetch(fleet.url("/admin/nothing"))).status).toBe(401);
    const missing = await fetch(fleet.url("/admin/nothing"), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "Not Found" });
  });

  test("x-worker-index is off by default and on with --worker-index-header", async () => {
    const plain = await startReadyFleet({ env: { WORKERS: "1", WORKER_INDEX_HEADER: "" } });
    for (const path of ["/", "/healthz"]) {
      const res = await fetch(plain.url(path));
      expect(res.status).toBe(200);
      expect(res.headers.has("x-worker-index")).toBe(false);
    }
    const stamped = await startReadyFleet({
      env: { WORKERS: "1", WORKER_INDEX_HEADER: "" },
      args: ["--worker-index-header"],
    });
    expect((await fetch(stamped.url("/"))).headers.get("x-worker-index")).toBe("0");
  });

  test("setup runs once, in a child of the primary that the primary waits out, and its value reaches every worker; onStart runs per worker; the primary never loads the hooks module", async () => {
    const fleet = await startReadyFleet({
      env: {
        APP_MODULE: join(FIXTURES, "hooks-app.ts"),
        HOOKS_MODULE: join(FIXTURES, "hooks.ts"),
      },
    });
    const res = await fetch(fleet.url("/setup"));
    const body = (await res.json()) as { setup: { secret: string; pid: number; parent: number } };
    const setupPid = body.setup.pid;
    expect(body.setup).toEqual({ secret: "from-setup", pid: setupPid, parent: fleet.pid });
    expect(setupPid).not.toBe(fleet.pid);
    // The setup process is gone once the fleet serves: the primary and its two workers are left.
    expect(fleet.pids()).not.toContain(setupPid);
    expect(fleet.pids()).toHaveLength(3);
    const loadedIn = [...fleet.stderr().matchAll(/hooks module loaded in pid (\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(loadedIn).toContain(setupPid);
    expect(loadedIn).not.toContain(fleet.pid);
    // Its lines say which process wrote them: the setup process, not a second primary.
    expect(fleet.stderr()).toContain(`[setup pid ${setupPid}] [fixture] hooks module loaded`);
    expect(fleet.stderr()).not.toContain(`[primary pid ${setupPid}]`);
    expect(fleet.stderr()).toContain("[fixture] onStart worker 0");
    expect(fleet.stderr()).toContain("[fixture] onStart worker 1");
  });

  test("a SIGKILLed worker is replaced in its slot, with its context, within 2 s", async () => {
    const contexts = [{ shard: "a" }, { shard: "b" }];
    const fleet = await startReadyFleet({ env: { WORKER_CONTEXTS: JSON.stringify(contexts) } });
    const before = await seeWorkers(fleet.url("/worker"), [0, 1]);
    const victim = before.get(1) as WorkerInfo;
    process.kill(victim.pid, "SIGKILL");
    const start = performance.now();
    const replacement = await waitFor(
      "a new pid serving index 1",
      async () => {
        const info = (await (await freshFetch(fleet.url("/worker"))).json()) as WorkerInfo;
        return info.index === 1 && info.pid !== victim.pid ? info : null;
      },
      2000,
    );
    expect(performance.now() - start).toBeLessThan(2000);
    expect(replacement.context).toEqual({ shard: "b" });
    expect(fleet.stderr()).toContain(`worker 1 (pid ${victim.pid}) killed by SIGKILL`);
    expect(fleet.pids()).toHaveLength(4); // primary, 2 workers, the test app's ticker extra
  });

  test("a worker sent SIGTERM on its own drains, exits and is replaced (not counted as a crash)", async () => {
    const fleet = await startReadyFleet();
    const before = await seeWorkers(fleet.url("/worker"), [0, 1]);
    const victim = before.get(0) as WorkerInfo;
    process.kill(victim.pid, "SIGTERM");
    await waitFor("a new pid serving index 0", async () => {
      const info = (await (await freshFetch(fleet.url("/worker"))).json()) as WorkerInfo;
      return info.index === 0 && info.pid !== victim.pid;
    });
    const log = fleet.stderr();
    expect(log).toContain(
      `worker 0 (pid ${victim.pid}) drained on its own (SIGTERM) and exited; respawning its slot`,
    );
    expect(log).not.toContain("crash 1 of");
  });

  test("messages that are not valid fleet messages are logged and ignored", async () => {
    const fleet = await startReadyFleet({ env: { APP_MODULE: join(FIXTURES, "noisy-app.ts") } });
    const log = fleet.stderr();
    expect(log).toContain("ignored IPC message: not a fleet message");
    expect(log).toContain("ignored IPC message: malformed");
    expect((await fetch(fleet.url("/healthz"))).status).toBe(200);
    expect(log).not.toContain("stopping");
  });
});
