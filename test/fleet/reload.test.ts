import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  admin,
  count,
  fdCount,
  freshFetch,
  NO_EXTRAS,
  seeWorkers,
  startReadyFleet,
  TEST_APP,
  waitFor,
} from "../helpers/fleet.ts";

describe("rolling reload", () => {
  test("SIGHUP replaces every worker one slot at a time and serves the code now on disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fleet-reload-"));
    try {
      const appFile = join(dir, "app.ts");
      const version = (v: string) =>
        `import { Hono } from "hono";\nexport default new Hono().get("/version", (c) => c.text("${v}"));\n`;
      writeFileSync(appFile, version("v1"));
      const fleet = await startReadyFleet({
        env: { ...NO_EXTRAS, APP_MODULE: appFile, DRAIN_WINDOW_MS: "50" },
      });
      const before =
        fleet
          .stdout()
          .match(/worker pids (\d+), (\d+)/)
          ?.slice(1)
          .map(Number) ?? [];
      expect(await (await freshFetch(fleet.url("/version"))).text()).toBe("v1");
      writeFileSync(appFile, version("v2"));
      fleet.kill("SIGHUP");
      await waitFor("the reload to complete", () =>
        fleet.stderr().includes("reload (SIGHUP) complete"),
      );
      // Retiring workers answer (with Connection: close) for DRAIN_WINDOW_MS, then leave.
      await waitFor(
        "the old workers to retire",
        () => count(fleet.stderr(), /retired \(drained\)/g) === 2,
      );
      for (let i = 0; i < 20; i++) {
        const res = await freshFetch(fleet.url("/version"));
        expect(await res.text()).toBe("v2");
      }
      for (const pid of before) expect(fleet.pids()).not.toContain(pid);
      expect(fleet.pids()).toHaveLength(3);
      expect(fleet.stderr()).toMatch(
        /reload: worker 0 \(pid \d+\) serves slot 0; worker 0 \(pid \d+\) retires/,
      );
      expect(fleet.stderr()).toMatch(
        /reload: worker 1 \(pid \d+\) serves slot 1; worker 1 \(pid \d+\) retires/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a reload whose new code throws at start keeps the old workers serving", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fleet-reload-"));
    try {
      const appFile = join(dir, "app.ts");
      writeFileSync(appFile, `export { default } from "${TEST_APP.APP_MODULE}";\n`);
      const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, APP_MODULE: appFile } });
      const before = await seeWorkers(fleet.url("/worker"), [0, 1]);
      writeFileSync(appFile, 'throw new Error("fixture: broken deploy");\n');
      const res = await admin(fleet.url("/admin/reload"));
      expect(res.status).toBe(202);
      await waitFor("the reload to abort", () =>
        fleet.stderr().includes("aborted: the old workers keep serving"),
      );
      expect(fleet.stderr()).toContain(
        "replacement for slot 0 failed to boot (fixture: broken deploy)",
      );
      const after = await seeWorkers(fleet.url("/worker"), [0, 1]);
      expect(after.get(0)?.pid).toBe(before.get(0)?.pid);
      expect(after.get(1)?.pid).toBe(before.get(1)?.pid);
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("reloads asked for during a reload are queued once, never interleaved", async () => {
    const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, DRAIN_WINDOW_MS: "50" } });
    fleet.kill("SIGHUP");
    await waitFor(
      "the first reload to start",
      () => fleet.stderr().includes("replacing 2 process(es)"),
      2000,
      1,
    );
    await admin(fleet.url("/admin/reload"));
    await admin(fleet.url("/admin/reload"));
    await waitFor("two reloads to complete", () => count(fleet.stderr(), /complete in/g) === 2);
    const log = fleet.stderr();
    expect(count(log, /joins the reload already queued/g)).toBe(1);
    // Each reload logs its start, its two swaps and its end in order: no interleaving.
    const steps = log.match(/replacing 2|serves slot \d|complete in/g) ?? [];
    expect(steps).toEqual([
      "replacing 2",
      "serves slot 0",
      "serves slot 1",
      "complete in",
      "replacing 2",
      "serves slot 0",
      "serves slot 1",
      "complete in",
    ]);
  });

  test("20 consecutive reloads leave the primary's fds and the process count flat", async () => {
    const fleet = await startReadyFleet({ env: { DRAIN_WINDOW_MS: "0" } });
    const primary = fleet.pid;
    const processes = fleet.pids().length;
    const fds = fdCount(primary);
    for (let i = 1; i <= 20; i++) {
      fleet.kill("SIGHUP");
      await waitFor(`reload ${i} to complete`, () => count(fleet.stderr(), /complete in/g) === i);
    }
    await waitFor("every retired process to exit", () => fleet.pids().length === processes);
    expect(fdCount(primary)).toBe(fds);
    expect(count(fleet.stderr(), /retired/g)).toBe(60);
  }, 60_000);
});
