import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { execForm, healthcheckCommand, parseDockerfile } from "../helpers/dockerfile.ts";
import { FIXTURES, freePort, ROOT, TOKEN, waitFor } from "../helpers/fleet.ts";
import { startInPidNamespace } from "../helpers/pid-namespace.ts";

const dockerfile = parseDockerfile(await Bun.file(join(ROOT, "Dockerfile")).text());
const last = (keyword: string) => dockerfile.findLast((i) => i.keyword === keyword)?.args ?? "";
/** What the container runs: the image's ENTRYPOINT followed by its CMD. */
const imageCommand = [...(execForm(last("ENTRYPOINT")) ?? []), ...(execForm(last("CMD")) ?? [])];
const healthcheck = execForm(healthcheckCommand(last("HEALTHCHECK"))) ?? [];

/** Runs the image's HEALTHCHECK command against `port`; its exit code. */
async function runHealthcheck(port: number): Promise<number> {
  const proc = Bun.spawn(healthcheck, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", PORT: String(port) },
    stdout: "ignore",
    stderr: "ignore",
  });
  return proc.exited;
}

describe("the image's command as PID 1 of a PID namespace", () => {
  test("reaps orphaned grandchildren, passes its HEALTHCHECK, drains on SIGTERM and exits 0", async () => {
    expect(imageCommand.length).toBeGreaterThan(0);
    const port = await freePort();
    const ns = await startInPidNamespace(imageCommand, {
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: "2",
      ADMIN_TOKEN: TOKEN,
      SHUTDOWN_TIMEOUT_MS: "5000",
      HOOKS_MODULE: join(FIXTURES, "orphan-hooks.ts"),
    });
    await waitFor(
      () => `the banner and the orphan\n${ns.stdout()}\n${ns.stderr()}`,
      () => ns.stdout().includes("bun-fleet: serving") && ns.stderr().includes("orphaned sleep"),
      10_000,
    );
    // The fixture's `sleep` was re-parented to PID 1 and exits after 0.3 s: PID 1 must reap it.
    await waitFor(
      () => `the orphan to be reaped: ${JSON.stringify(ns.processes())}`,
      () => ns.processes().every((p) => p.comm !== "sleep"),
      3000,
    );
    expect(ns.processes().filter((p) => p.state === "Z")).toEqual([]);

    expect(await runHealthcheck(port)).toBe(0);
    expect(await runHealthcheck(await freePort())).toBe(1);

    process.kill(ns.init, "SIGTERM");
    expect(await ns.exited).toBe(0);
    expect(ns.stderr()).toContain("stopped (SIGTERM)");
    expect(ns.stderr()).toContain("extra orphaner#0");
    expect(ns.processes()).toEqual([]);
  });
});
