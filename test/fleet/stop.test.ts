import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIGINT_COALESCE_MS } from "../../workers/primary/signals.ts";
import {
  FIXTURES,
  type Fleet,
  freshFetch,
  PROJECT_APP,
  startFleet,
  startReadyFleet,
  TOKEN,
  timed,
  waitFor,
  within,
} from "../helpers/fleet.ts";

const SLOW_APP = { APP_MODULE: join(FIXTURES, "slow-app.ts") };

/**
 * Starts a slow request; resolves once a worker has begun to serve it, with the pending
 * outcome wrapped (returning the bare promise would make `await` wait for the response).
 */
async function slowRequestInFlight(fleet: Fleet, ms: number) {
  const answer = fetch(fleet.url(`/slow?ms=${ms}`));
  const response = answer.then(
    async (res) => ({ status: res.status, body: await res.json() }),
    (error: Error) => ({ status: 0, body: error.message }),
  );
  /** The response's Connection header (null when the request failed). */
  const connection = answer.then(
    (res) => res.headers.get("connection"),
    () => null,
  );
  await waitFor("the slow request to reach a worker", () =>
    fleet.stderr().includes("slow request started"),
  );
  return { response, connection };
}

/** True when a plain listener (no SO_REUSEPORT) can bind the port: nobody holds it. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

const stop = (fleet: Fleet, token?: string) =>
  fetch(fleet.url("/admin/stop"), {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

describe("stopping", () => {
  test("/admin/stop refuses a missing or wrong token and the fleet keeps serving", async () => {
    const fleet = await startReadyFleet();
    const missing = await stop(fleet);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: "Unauthorized" });
    const wrong = await stop(fleet, "not-the-right-token-at-all");
    expect(wrong.status).toBe(401);
    expect(missing.headers.get("x-worker-index")).toMatch(/^[01]$/);
    expect((await fetch(fleet.url("/healthz"))).status).toBe(200);
    expect(fleet.pids()).toHaveLength(4); // primary, 2 workers, the test app's ticker extra
  });

  test("/admin/stop with the token stops every process within 2 s, exit 0, port free", async () => {
    const fleet = await startReadyFleet();
    const res = await stop(fleet, TOKEN);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: "stopping" });
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(0);
    await waitFor("every fleet process to exit", () => fleet.pids().length === 0, 2000 - ms);
    expect(await portIsFree(fleet.port)).toBe(true);
    expect(fleet.stderr()).toContain("stopping (admin-stop)");
  });

  test("SIGTERM lets a 1.5 s request finish with 200 and Connection: close, then exits 0", async () => {
    const fleet = await startReadyFleet({ env: SLOW_APP });
    const { response, connection } = await slowRequestInFlight(fleet, 1500);
    fleet.kill("SIGTERM");
    expect(await response).toEqual({ status: 200, body: { slept: 1500 } });
    expect(await connection).toBe("close"); // answered while draining: the client must not reuse it
    expect(await fleet.exited).toBe(0);
    expect(fleet.stderr()).toContain("stopping (SIGTERM)");
  });

  test("a request still running at SHUTDOWN_TIMEOUT_MS is cut: exit 4 within ~1.5 s", async () => {
    const fleet = await startReadyFleet({ env: { ...SLOW_APP, SHUTDOWN_TIMEOUT_MS: "500" } });
    const { response } = await slowRequestInFlight(fleet, 5000);
    fleet.kill("SIGTERM");
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(4);
    expect(ms).toBeLessThan(within(1500, 5000)); // not the 5 s request
    expect((await response).status).toBe(0);
    await waitFor("every fleet process to exit", () => fleet.pids().length === 0, 500);
  });

  test("Ctrl-C (SIGINT to every process of the fleet, workers first) exits 0 and logs no worker as draining on its own", async () => {
    const fleet = await startReadyFleet();
    const primary = fleet.pid;
    // A terminal sends it to the whole foreground group; workers first is the order in which
    // their own drains most often reach the primary before its stop does.
    for (const pid of fleet.pids()) if (pid !== primary) process.kill(pid, "SIGINT");
    process.kill(primary, "SIGINT");
    expect(await fleet.exited).toBe(0);
    const log = fleet.stderr();
    expect(log).toContain("stopping (SIGINT)");
    expect(log).not.toContain("on its own");
  });

  for (const [app, env] of [
    ["the test app", {}],
    ["the template's app (database, job process)", PROJECT_APP],
  ] as const) {
    test(`Ctrl-C whose SIGINT reaches the primary after it handled a worker's exit: no respawn, nothing 'on its own', exit 0 (${app})`, async () => {
      const fleet = await startReadyFleet({ env: { ...env, LOG_LEVEL: "debug" } });
      const primary = fleet.pid;
      const children = fleet.pids().filter((pid) => pid !== primary);
      for (const pid of children) process.kill(pid, "SIGINT");
      // What a busy machine does to a terminal's Ctrl-C: a worker drains and exits, and the
      // primary handles that exit, before its own SIGINT arrives.
      await waitFor("the primary to handle a worker's exit", () =>
        fleet.stderr().includes("exited after its own SIGINT"),
      );
      process.kill(primary, "SIGINT");
      expect(await fleet.exited).toBe(0);
      const log = fleet.stderr();
      // No worker reported as leaving on its own, none started again (the debug lines of their
      // own drain aside).
      expect(log).not.toContain("drained on its own");
      expect(log).not.toContain("respawning");
    });
  }

  test("a second SIGINT forces an immediate stop with exit 130", async () => {
    const fleet = await startReadyFleet({ env: SLOW_APP });
    const { response } = await slowRequestInFlight(fleet, 5000);
    fleet.kill("SIGINT");
    await waitFor("the graceful stop to begin", () => fleet.stderr().includes("stopping (SIGINT)"));
    // Two SIGINTs closer than the coalescing window count as one key press.
    await Bun.sleep(SIGINT_COALESCE_MS + 20);
    fleet.kill("SIGINT");
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(within(1000, 5000)); // not the 5 s request
    expect((await response).status).toBe(0);
    await waitFor("every fleet process to exit", () => fleet.pids().length === 0, 1000);
  });

  test("one Ctrl-C delivered twice in quick succession stays graceful", async () => {
    // The kernel merges two pending SIGINTs, so the second goes out once the first was delivered
    // (no longer pending in /proc/<pid>/status). On a busy machine even that can take longer than
    // the coalescing window, which would make this a test of a second Ctrl-C: such an attempt
    // proves nothing either way, so it is made again (a few times at most).
    const pending = (pid: number) =>
      /^ShdPnd:\s*([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0";
    const sigintPending = (pid: number) => (BigInt(`0x${pending(pid)}`) & 2n) !== 0n;
    for (let attempt = 1; ; attempt++) {
      const fleet = await startReadyFleet({ env: SLOW_APP });
      const { response } = await slowRequestInFlight(fleet, 800);
      const sent = performance.now();
      fleet.kill("SIGINT");
      await waitFor("the first SIGINT to be delivered", () => !sigintPending(fleet.pid), 1000, 1);
      fleet.kill("SIGINT");
      const gap = performance.now() - sent;
      if (gap >= SIGINT_COALESCE_MS / 2 && attempt < 5) {
        fleet.kill("SIGKILL");
        await fleet.exited;
        continue;
      }
      expect(await response).toEqual({ status: 200, body: { slept: 800 } });
      expect(await fleet.exited).toBe(0);
      expect(fleet.stderr()).toContain("SIGINT ignored: same Ctrl-C delivered twice");
      break;
    }
  });

  // A long setup (a migration) runs in the setup process: a stop asked for meanwhile lets it
  // finish and starts no worker. A terminal's Ctrl-C reaches the setup process too (the whole
  // foreground group gets it): that must not kill it mid-setup, nor turn the stop into exit 3.
  test.each([
    ["SIGTERM to the primary", false],
    ["Ctrl-C (SIGINT to the primary and the setup process)", true],
  ])("%s during setup: setup finishes, no worker starts, exit 0", async (_what, group) => {
    const fleet = await startFleet({
      env: { HOOKS_MODULE: join(FIXTURES, "slow-setup.ts"), SLOW_SETUP_MS: "1000" },
    });
    const began = await waitFor("setup to begin", () =>
      /fixture: setup begins in pid (\d+)/.exec(fleet.stdout() + fleet.stderr()),
    );
    const setupPid = Number(began[1]);
    expect(setupPid).not.toBe(fleet.pid);
    fleet.kill(group ? "SIGINT" : "SIGTERM");
    if (group) process.kill(setupPid, "SIGINT");
    expect(await fleet.exited).toBe(0);
    const out = fleet.stdout() + fleet.stderr();
    expect(out).toContain("fixture: setup ends");
    expect(out).not.toContain("[worker");
    expect(out).not.toContain("setup process (pid");
  });

  test("past the stop's deadline the setup process is killed: exit 4; a second Ctrl-C kills it at once: exit 130", async () => {
    for (const [signals, code] of [
      [["SIGTERM"], 4],
      [["SIGINT", "SIGINT"], 130],
    ] as [NodeJS.Signals[], number][]) {
      const fleet = await startFleet({
        env: {
          HOOKS_MODULE: join(FIXTURES, "slow-setup.ts"),
          SLOW_SETUP_MS: "10000",
          SHUTDOWN_TIMEOUT_MS: "300",
        },
      });
      const began = await waitFor("setup to begin", () =>
        /fixture: setup begins in pid (\d+)/.exec(fleet.stdout() + fleet.stderr()),
      );
      for (const signal of signals) {
        fleet.kill(signal);
        await Bun.sleep(SIGINT_COALESCE_MS + 20); // two key presses, not one delivered twice
      }
      const { ms, value } = await timed(fleet.exited);
      expect(value).toBe(code);
      expect(ms).toBeLessThan(within(2000));
      const out = fleet.stderr();
      expect(out).toContain(code === 4 ? "shutdown deadline passed" : "forced stop");
      expect(out).toContain(`the setup process (pid ${began[1]})`);
      expect(out).not.toContain("fixture: setup ends");
      await waitFor("the setup process to be gone", () => fleet.pids().length === 0, 2000);
    }
  });

  test("PID_FILE holds the primary's pid while it runs, refuses a second fleet, is removed at exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fleet-pid-"));
    try {
      const path = join(dir, "fleet.pid");
      const fleet = await startReadyFleet({ env: { PID_FILE: path } });
      expect(readFileSync(path, "utf8")).toBe(`${fleet.pid}\n`);
      const second = await startFleet({ env: { PID_FILE: path } });
      expect(await second.exited).toBe(2);
      expect(second.stderr()).toContain(`a fleet already runs as pid ${fleet.pid}`);
      expect(readFileSync(path, "utf8")).toBe(`${fleet.pid}\n`);
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("SIGKILL of the primary: every worker exits within 2 s (no orphans)", async () => {
    const fleet = await startReadyFleet();
    expect(fleet.pids()).toHaveLength(4); // primary, 2 workers, the test app's ticker extra
    fleet.kill("SIGKILL");
    await fleet.exited;
    await waitFor("orphaned workers to exit", () => fleet.pids().length === 0, 2000);
  });

  test("onShutdown runs in every worker with the stop reason", async () => {
    const fleet = await startReadyFleet({
      env: { APP_MODULE: join(FIXTURES, "hooks-app.ts"), HOOKS_MODULE: join(FIXTURES, "hooks.ts") },
    });
    fleet.kill("SIGQUIT");
    expect(await fleet.exited).toBe(0);
    expect(fleet.stderr()).toContain("[fixture] onShutdown(SIGQUIT) worker 0");
    expect(fleet.stderr()).toContain("[fixture] onShutdown(SIGQUIT) worker 1");
  });

  test("concurrent /admin/stop calls start one stop, and each is answered 202 or refused", async () => {
    const fleet = await startReadyFleet({ env: SLOW_APP });
    const { response } = await slowRequestInFlight(fleet, 600);
    const calls = await Promise.all(
      [1, 2, 3].map(() =>
        freshFetch(fleet.url("/admin/stop"), {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}` },
        }).then(
          (res) => res.status,
          () => 0, // the listener already closed: refused, which is fine
        ),
      ),
    );
    expect(calls.every((status) => status === 202 || status === 0)).toBe(true);
    expect(calls).toContain(202);
    expect(await response).toEqual({ status: 200, body: { slept: 600 } });
    expect(await fleet.exited).toBe(0);
    expect(fleet.stderr().match(/stopping \(admin-stop\): draining/g)).toHaveLength(1);
    const accepted = calls.filter((status) => status === 202).length;
    expect(fleet.stderr().match(/changes nothing/g)?.length ?? 0).toBe(accepted - 1);
  });
});
