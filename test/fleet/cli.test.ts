import { describe, expect, onTestFinished, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { outputOf } from "../../scripts/lib/procs.ts";
import type { FleetStatus } from "../../workers/primary/observe/status.ts";
import {
  count,
  freePort,
  NO_EXTRAS,
  ROOT,
  startReadyFleet,
  TOKEN,
  waitFor,
} from "../helpers/fleet.ts";

/** Runs `bun scripts/<command>.ts args` as a user would (`bun run <command>`), to completion. */
async function cli(command: string, args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", `${command}.ts`), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return outputOf(proc);
}

describe("admin CLI", () => {
  test("status, scale, reload and stop work with the token the fleet generated (0600 file, removed at exit)", async () => {
    const runtime = mkdtempSync(join(tmpdir(), "fleet-cli-"));
    try {
      const env = { XDG_RUNTIME_DIR: runtime };
      const fleet = await startReadyFleet({
        env: { ...env, ...NO_EXTRAS, ADMIN_TOKEN: "", DRAIN_WINDOW_MS: "50" },
      });
      const tokenFile = join(runtime, "bun-fleet", `port-${fleet.port}.token`);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const target = { ...env, PORT: String(fleet.port) };

      const json = await cli("status", ["--json"], target);
      expect(json).toMatchObject({ code: 0, stderr: "" });
      const status = JSON.parse(json.stdout) as FleetStatus;
      expect(status.fleet.pid).toBe(fleet.pid);
      const pids = status.workers.map((w) => w.pid);
      expect(pids.sort()).toEqual(
        fleet
          .pids()
          .filter((p) => p !== fleet.pid)
          .sort(),
      );

      const table = await cli("status", [], target);
      expect(table.code).toBe(0);
      expect(table.stdout).toContain(`primary pid ${fleet.pid}, running`);
      for (const pid of pids) expect(table.stdout).toMatch(new RegExp(`worker \\d +${pid} +ready`));

      expect(await cli("scale", ["1"], target)).toMatchObject({ code: 0 });
      await waitFor("one worker left", async () => {
        const s = JSON.parse((await cli("status", ["--json"], target)).stdout) as FleetStatus;
        return s.fleet.workers.configured === 1 && s.workers.length === 1;
      });

      const reload = await cli("reload", [], target);
      expect(reload.code).toBe(0);
      expect(reload.stdout).toContain("reload complete");

      const stop = await cli("stop", [], target);
      expect(stop).toMatchObject({ code: 0 });
      expect(stop.stdout).toContain("stopped");
      expect(await fleet.exited).toBe(0);
      expect(() => statSync(tokenFile)).toThrow();
    } finally {
      rmSync(runtime, { recursive: true, force: true });
    }
  }, 20_000);

  test("with no PORT or --url each command finds the one fleet of this user that runs; with several it names their ports; stale token files are ignored", async () => {
    const runtime = mkdtempSync(join(tmpdir(), "fleet-cli-"));
    onTestFinished(() => rmSync(runtime, { recursive: true, force: true }));
    const env = { XDG_RUNTIME_DIR: runtime };
    const fleetEnv = { ...env, ...NO_EXTRAS, ADMIN_TOKEN: "", WORKERS: "1", DRAIN_WINDOW_MS: "50" };
    const first = await startReadyFleet({ env: fleetEnv });
    // A token file left by a primary that was killed (its pid is gone): not a fleet that runs.
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    const stalePort = await freePort();
    writeFileSync(
      join(runtime, "bun-fleet", `port-${stalePort}.token`),
      `stale-token-0123456789\npid=${gone.pid}\nurl=http://127.0.0.1:${stalePort}\n`,
      { mode: 0o600 },
    );

    const found = await cli("status", ["--json"], env);
    expect(found).toMatchObject({ code: 0, stderr: "" });
    expect((JSON.parse(found.stdout) as FleetStatus).fleet.pid).toBe(first.pid);
    const table = await cli("status", [], env);
    expect(table.stdout).toContain(`primary pid ${first.pid}, running`);

    const second = await startReadyFleet({ env: fleetEnv });
    const [low, high] = [first.port, second.port].sort((a, b) => a - b);
    const several = `bun-fleet: 2 fleets of this user run here (ports ${low}, ${high}): say which with PORT=<port> or --port <port>\n`;
    const runs = await Promise.all([
      cli("status", [], env),
      cli("reload", [], env),
      cli("scale", ["2"], env),
      cli("stop", [], env),
    ]);
    for (const run of runs) expect(run).toMatchObject({ code: 2, stdout: "", stderr: several });
    // Naming one still works, and what was asked of neither happened.
    const named = await cli("status", ["--json", "--port", String(second.port)], env);
    expect((JSON.parse(named.stdout) as FleetStatus).fleet).toMatchObject({
      pid: second.pid,
      reloads: { complete: 0, aborted: 0 },
      scaleChanges: 0,
    });

    expect(await cli("stop", [], { ...env, PORT: String(second.port) })).toMatchObject({ code: 0 });
    expect(await second.exited).toBe(0);
    // One left: scale, reload and stop find it on their own.
    const scale = await cli("scale", ["2"], env);
    expect(scale).toMatchObject({
      code: 0,
      stdout: `scaling the fleet at http://127.0.0.1:${first.port} to 2 worker(s)\n`,
    });
    const reload = await cli("reload", [], env);
    expect(reload).toMatchObject({ code: 0, stderr: "" });
    expect(reload.stdout).toContain(`reloading the fleet at http://127.0.0.1:${first.port}`);
    const stop = await cli("stop", [], env);
    expect(stop).toMatchObject({ code: 0, stderr: "" });
    expect(await first.exited).toBe(0);
  }, 30_000);

  test("with no fleet running each command prints one clear line and exits non-zero", async () => {
    const port = String(await freePort());
    const runs = await Promise.all([
      cli("status", [], { PORT: port, ADMIN_TOKEN: TOKEN }),
      cli("reload", [], { PORT: port }),
      cli("stop", ["--port", port], {}),
      cli("scale", ["--url", `http://127.0.0.1:${port}`, "2"], {}),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(
        `bun-fleet: no fleet answers at http://127.0.0.1:${port} (connection refused); is it running (bun run start)?\n`,
      );
    }
  });

  test("a wrong token or bad usage is one line too; --watch redraws until Ctrl-C", async () => {
    const fleet = await startReadyFleet({ env: NO_EXTRAS });
    const wrong = await cli("status", [], {
      PORT: String(fleet.port),
      ADMIN_TOKEN: "wrong-token-0123456789",
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      `bun-fleet: the fleet at http://127.0.0.1:${fleet.port} refused the admin token from ADMIN_TOKEN (401)\n`,
    );
    const usage = await cli("scale", ["many"], { PORT: String(fleet.port), ADMIN_TOKEN: TOKEN });
    expect(usage).toMatchObject({ code: 2, stdout: "" });
    expect(usage.stderr.trim().split("\n")).toHaveLength(1);
    // --watch redraws every second until Ctrl-C.
    const watch = Bun.spawn([process.execPath, join(ROOT, "scripts", "status.ts"), "--watch"], {
      env: { PATH: process.env.PATH ?? "", PORT: String(fleet.port), ADMIN_TOKEN: TOKEN },
      stdout: "pipe",
    });
    onTestFinished(() => watch.kill("SIGKILL")); // it redraws forever: gone even if the test fails
    let screen = "";
    void (async () => {
      for await (const chunk of watch.stdout) screen += new TextDecoder().decode(chunk);
    })();
    await waitFor("two frames", () => count(screen, /primary pid \d+, running/g) >= 2, 5000);
    // Each frame ends with a sparkline of every worker's requests/s (from /admin/history).
    await waitFor(
      "the requests/s trend",
      () => /worker 1 +[▁▂▃▄▅▆▇█ ]+ +[\d.,]+\/s/.test(screen),
      5000,
    );
    expect(screen.split("\u001b[2J").length - 1).toBeGreaterThanOrEqual(2); // screen cleared
    watch.kill("SIGINT");
    expect(await watch.exited).toBe(0);

    const flag = await cli("status", ["--nope"], {});
    expect(flag.code).toBe(2);
    expect(flag.stderr).toStartWith("bun-fleet: Unknown option '--nope'");
  });
});
