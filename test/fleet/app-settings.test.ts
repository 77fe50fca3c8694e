import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, freshFetch, START, startFleet, startReadyFleet } from "../helpers/fleet.ts";

const SETTINGS_FLEET = {
  APP_MODULE: join(FIXTURES, "settings-app.ts"),
  HOOKS_MODULE: join(FIXTURES, "settings-hooks.ts"),
};

describe("app settings (the hooks module's `settings` schema)", () => {
  test("workers and setup get the parsed values as worker.config / fleet.config", async () => {
    const fleet = await startReadyFleet({
      env: { ...SETTINGS_FLEET, FIXTURE_API_KEY: "key-0123456789", FIXTURE_LIMIT: "7" },
    });
    const body = await (await freshFetch(fleet.url("/config"))).json();
    expect(body).toEqual({
      config: { FIXTURE_API_KEY: "key-0123456789", FIXTURE_LIMIT: 7 },
      setup: { limitSeenBySetup: 7 },
    });
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test("an invalid value exits 2 before any worker starts, naming the setting, never the value", async () => {
    const fleet = await startFleet({
      env: { ...SETTINGS_FLEET, FIXTURE_API_KEY: "secret-value-42", FIXTURE_LIMIT: "99" },
    });
    expect(await fleet.exited).toBe(2);
    const lines = fleet
      .stderr()
      .trim()
      .split("\n")
      .filter((line) => line.includes(" error "));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("invalid configuration: FIXTURE_LIMIT:");
    expect(fleet.stderr()).not.toContain("secret-value-42");
    expect(fleet.stdout()).not.toContain("serving");
  });

  test("a missing required setting exits 2 naming it", async () => {
    const fleet = await startFleet({ env: SETTINGS_FLEET });
    expect(await fleet.exited).toBe(2);
    expect(fleet.stderr()).toContain("invalid configuration: FIXTURE_API_KEY:");
  });

  test("--help lists the app settings with their defaults", async () => {
    const proc = Bun.spawn([process.execPath, START, "--help"], {
      env: { PATH: process.env.PATH ?? "", HOOKS_MODULE: SETTINGS_FLEET.HOOKS_MODULE },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(out).toMatch(/FIXTURE_API_KEY\s+a secret the fixture needs \[default: required\]/);
    expect(out).toMatch(/FIXTURE_LIMIT\s+a number with a default \[default: 3\]/);
    expect(out).toMatch(/FIXTURE_NOTE\s+an optional setting \[default: unset\]/);
  });
});
