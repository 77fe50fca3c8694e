import { describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { FIXTURES, freePort, startFleet, timed, waitFor, within } from "../helpers/fleet.ts";

const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");

describe("boot failures and crash loops", () => {
  test("an app that throws at start: exit 3 within 5 s, clear message, no respawn", async () => {
    const fleet = await startFleet({ env: { APP_MODULE: join(FIXTURES, "throwing-app.ts") } });
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(3);
    expect(ms).toBeLessThan(within(5000));
    const log = fleet.stderr();
    expect(log).toContain("failed to boot: fixture: the app failed to start");
    expect(log).toContain("stopping (boot-failure)");
    // One boot per slot at most: nothing was respawned.
    expect(
      log.match(/ error \[worker \d pid \d+\] failed to boot/g)?.length ?? 0,
    ).toBeLessThanOrEqual(2);
    expect(fleet.stdout()).not.toContain("bun-fleet: serving");
    await waitFor("every fleet process to exit", () => fleet.pids().length === 0, 1000);
  });

  test("a worker that never becomes ready within BOOT_TIMEOUT_MS: exit 3", async () => {
    const fleet = await startFleet({
      env: { APP_MODULE: join(FIXTURES, "hanging-app.ts"), BOOT_TIMEOUT_MS: "500" },
    });
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(3);
    expect(ms).toBeLessThan(within(3000));
    expect(fleet.stderr()).toContain("failed to boot: not ready within 500 ms");
    await waitFor("every fleet process to exit", () => fleet.pids().length === 0, 1000);
  });

  test("a port held by a plain listener: exit 3 naming the port", async () => {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      const fleet = await startFleet({ port });
      expect(await fleet.exited).toBe(3);
      expect(fleet.stderr()).toContain(`port ${port} on 127.0.0.1 is already in use`);
      await waitFor("every fleet process to exit", () => fleet.pids().length === 0, 1000);
    } finally {
      holder.close();
    }
  });

  // The hooks module runs in the setup process before any worker: each failure stops the start.
  test.each([
    [
      "a setup hook that throws: exit 3",
      "throwing-setup.ts",
      3,
      ["setup hook failed, no worker started", "fixture: setup failed"],
    ],
    [
      "a hooks module that throws while loading: exit 3",
      "throwing-hooks.ts",
      3,
      [
        "throwing-hooks.ts threw while loading, no worker started",
        "fixture: hooks module failed to load",
      ],
    ],
    [
      "a hooks module whose hook is not a function: exit 2 naming the export",
      "wrong-hooks.ts",
      2,
      ['wrong-hooks.ts: export "onStart" must be a function'],
    ],
    [
      "a setup result that is not plain JSON: exit 3 naming where",
      "bad-setup.ts",
      3,
      ["setup must return plain JSON data; result.when is a Date"],
    ],
    [
      "a setup process killed mid-setup: exit 3 saying so",
      "killed-setup.ts",
      3,
      ["the setup process (pid ", "was killed by SIGKILL, no worker started"],
    ],
  ] as [string, string, number, string[]][])(
    "%s, before any worker starts",
    async (_what, fixture, code, messages) => {
      const fleet = await startFleet({ env: { HOOKS_MODULE: join(FIXTURES, fixture) } });
      expect(await fleet.exited).toBe(code);
      for (const message of messages) expect(fleet.stderr()).toContain(message);
      expect(fleet.stderr()).not.toContain("[worker");
    },
  );

  test("a slot that keeps crashing stops the fleet with exit 5 after CRASH_LOOP_LIMIT crashes", async () => {
    const fleet = await startFleet({
      env: {
        APP_MODULE: join(FIXTURES, "crashing-app.ts"),
        CRASH_AFTER_MS: "50",
        WORKERS: "1",
        CRASH_LOOP_LIMIT: "3",
        RESPAWN_BACKOFF_MS: "10",
      },
    });
    const { ms, value: code } = await timed(fleet.exited);
    expect(code).toBe(5);
    expect(ms).toBeLessThan(within(5000));
    const log = fleet.stderr();
    expect(log).toContain("respawning its slot in 10 ms (crash 1 of 3");
    expect(log).toContain("respawning its slot in 20 ms (crash 2 of 3");
    expect(log).toContain("its slot crashed 3 times within 30000 ms: crash loop");
    await waitFor("every fleet process to exit", () => fleet.pids().length === 0, 1000);
  });
});

describe("invalid configuration: exit 2, one line naming the setting, nothing started", () => {
  const cases: [string, Record<string, string>, string[], RegExp][] = [
    ["WORKERS=0", { WORKERS: "0" }, [], /WORKERS="0": must be a whole number from 1 to 1024/],
    ["WORKERS=abc", { WORKERS: "abc" }, [], /WORKERS="abc": must be a whole number/],
    ["PORT=70000", { PORT: "70000" }, [], /PORT="70000": must be a whole number from 1 to 65535/],
    ["PORT=0", { PORT: "0" }, [], /PORT="0": must be a whole number from 1 to 65535/],
    ["--port=abc", {}, ["--port", "abc"], /--port="abc": must be a whole number/],
    [
      "WORKER_CONTEXTS=not-json",
      { WORKER_CONTEXTS: "not-json" },
      [],
      /WORKER_CONTEXTS="not-json": is not valid JSON/,
    ],
    [
      "contexts length != WORKERS",
      { WORKER_CONTEXTS: "[1,2,3]", WORKERS: "2" },
      [],
      /WORKER_CONTEXTS has 3 entries but WORKERS is 2/,
    ],
    ["unknown flag", {}, ["--wokers", "2"], /unknown option --wokers/],
    ["short token", { ADMIN_TOKEN: "short" }, [], /ADMIN_TOKEN: must be at least 16 characters/],
    [
      "missing app module",
      { APP_MODULE: "nope/app.ts" },
      [],
      /APP_MODULE: no such file nope\/app.ts/,
    ],
  ];
  for (const [name, env, args, reason] of cases) {
    test(name, async () => {
      const fleet = await startFleet({ env, args });
      expect(await fleet.exited).toBe(2);
      const errors = lines(fleet.stderr());
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^\S+Z error \[primary pid \d+\] invalid configuration: /);
      expect(errors[0]).toMatch(reason);
      expect(fleet.stdout()).toBe("");
      expect(fleet.pids()).toEqual([]);
    });
  }

  test("--help prints every setting and exits 0", async () => {
    const fleet = await startFleet({ args: ["--help"] });
    expect(await fleet.exited).toBe(0);
    expect(fleet.stdout()).toContain("--shutdown-timeout <value>");
    expect(fleet.stdout()).toContain("ADMIN_TOKEN");
  });
});
