import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KILL_GRACE_MS } from "../../workers/primary/primary.ts";
import { SETTINGS } from "../../workers/settings.ts";
import { projectFile, seconds } from "../helpers/deploy.ts";
import { ROOT } from "../helpers/fleet.ts";

const UNIT = "deploy/systemd/bun-fleet.service";
const text = await projectFile(UNIT);

/** The [Service] section: each key with every value it is given, in order. */
function serviceSection(unit: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = "";
  for (const raw of unit.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (line.startsWith("[")) section = line;
    else if (section === "[Service]") {
      const at = line.indexOf("=");
      const key = line.slice(0, at);
      keys.set(key, [...(keys.get(key) ?? []), line.slice(at + 1)]);
    }
  }
  return keys;
}

const service = serviceSection(text);
const one = (key: string) => service.get(key)?.at(-1) ?? "";
const environment = new Map(
  (service.get("Environment") ?? []).map((entry) => entry.split("=", 2) as [string, string]),
);
const [binary = "", ...startArgs] = one("ExecStart").split(/\s+/);

/** Runs `systemd-analyze verify` on `unit` saved as bun-fleet.service; its combined output. */
function verify(unit: string): { code: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "unit-"));
  try {
    writeFileSync(join(dir, "bun-fleet.service"), unit);
    const run = Bun.spawnSync(["systemd-analyze", "verify", join(dir, "bun-fleet.service")]);
    return { code: run.exitCode, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("deploy/systemd/bun-fleet.service", () => {
  test("systemd-analyze verify finds nothing once ExecStart's executable exists", () => {
    // The unit names the executable where its install lines put it; this machine has none
    // there, so a copy with only that path replaced by this test's own bun is verified.
    expect(verify(text.replaceAll(binary, process.execPath))).toEqual({ code: 0, output: "" });
    const asShipped = verify(text);
    if (!existsSync(binary))
      expect(asShipped.output).toBe(
        `bun-fleet.service: Command ${binary} is not executable: No such file or directory`,
      );
  });

  test("a misspelt option is caught (the check can fail)", () => {
    const broken = text
      .replaceAll(binary, process.execPath)
      .replace("KillMode=mixed", "KillMode=mixd");
    expect(verify(broken).output).toContain("kill mode");
  });

  test("runs the one-file build itself, as its own user, in a directory it may write", () => {
    expect(binary).toEndWith("/bun-fleet");
    expect(startArgs).toEqual([]);
    expect(existsSync(join(ROOT, "scripts", "build.ts"))).toBe(true);
    expect(one("WorkingDirectory")).toBe(`/var/lib/${one("StateDirectory")}`);
    expect(one("User")).not.toBe("");
    expect(one("User")).not.toBe("root");
  });

  test("reload is SIGHUP to the primary; stop is SIGTERM to the primary alone, then SIGKILL", () => {
    expect(one("ExecReload")).toMatch(/kill -HUP \$MAINPID$/);
    expect(one("KillMode")).toBe("mixed");
    expect(one("KillSignal") || "SIGTERM").toBe("SIGTERM");
  });

  test("TimeoutStopSec leaves the primary its whole drain deadline and its SIGKILL grace", () => {
    const shutdownMs = Number(
      environment.get("SHUTDOWN_TIMEOUT_MS") ?? SETTINGS.shutdownTimeoutMs.default,
    );
    expect(seconds(one("TimeoutStopSec"))).toBeGreaterThan((shutdownMs + KILL_GRACE_MS) / 1000);
  });

  test("restarts on failure, never after exit 2 (bad configuration)", () => {
    expect(one("Restart")).toBe("on-failure");
    expect(one("RestartPreventExitStatus").split(/\s+/)).toContain("2");
  });

  test("hardening keeps the host's network (reusePort) and Bun's JIT", () => {
    expect(one("PrivateNetwork") || "no").toBe("no");
    expect(one("MemoryDenyWriteExecute") || "no").toBe("no");
    expect(one("IPAddressDeny")).toBe("");
    const families = one("RestrictAddressFamilies").split(/\s+/);
    expect(families).toContain("AF_INET");
    expect(families).toContain("AF_INET6");
    expect(one("NoNewPrivileges")).toBe("yes");
    expect(one("ProtectSystem")).toBe("strict");
  });
});
