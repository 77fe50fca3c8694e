import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, freshFetch, seeWorkers, startReadyFleet, waitFor } from "../helpers/fleet.ts";

const APP = join(FIXTURES, "logging-app.ts");

type Line = { level: number; time: number; pid: number; name: string; msg: string } & Record<
  string,
  unknown
>;

/** Every non-empty line of `text` as JSON; a line that does not parse fails the test, named. */
function jsonLines(text: string, stream: string): Line[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      let value: Line;
      try {
        value = JSON.parse(line) as Line;
      } catch {
        throw new Error(`${stream} line is not JSON: ${line}`);
      }
      expect(Object.keys(value).slice(0, 5)).toEqual(["level", "time", "pid", "name", "msg"]);
      expect([20, 30, 40, 50]).toContain(value.level);
      expect(Math.abs(value.time - Date.now())).toBeLessThan(60_000);
      expect(Number.isInteger(value.pid)).toBe(true);
      expect(typeof value.msg).toBe("string");
      return value;
    });
}

describe("logs", () => {
  test("LOG_FORMAT=json: every line on stdout and stderr is one pino-shaped object, from start to stop", async () => {
    const fleet = await startReadyFleet({
      env: { LOG_FORMAT: "json", ACCESS_LOG: "1", APP_MODULE: APP, TICKER_INTERVAL_MS: "50" },
    });
    await seeWorkers(fleet.url("/worker"), [0, 1]); // so both workers have written lines
    const paths = ["/", "/nope", "/boom", "/say", "/healthz"];
    const ids = Object.fromEntries(paths.map((path, i) => [path, `test-request-${i}`]));
    for (const path of paths) {
      await freshFetch(fleet.url(path), { headers: { "x-request-id": ids[path] as string } });
    }
    await freshFetch(fleet.url("/later"), { headers: { "x-request-id": "test-request-later" } });
    await waitFor("the uncaught exception's respawn", () => fleet.stderr().includes("respawning"));
    await waitFor("a tick from the extra", () => fleet.stderr().includes("tick 2"));
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);

    const out = jsonLines(fleet.stdout(), "stdout");
    const err = jsonLines(fleet.stderr(), "stderr");
    const all = [...out, ...err];
    const banner = out.find((l) => l.msg.startsWith("bun-fleet: serving"));
    expect(banner).toMatchObject({ level: 30, name: "primary", pid: fleet.pid });
    expect(banner?.workerPids).toHaveLength(2);
    // One access line per app request (the fleet's /healthz is not one), with its fields.
    const access = out.filter((l) => typeof l.method === "string" && l.path !== "/worker");
    expect(access.map((l) => `${l.path} ${l.status}`).sort()).toEqual(
      ["/ 200", "/boom 500", "/later 200", "/nope 404", "/say 200"].sort(),
    );
    for (const line of access) {
      expect(line.requestId).toBe(ids[line.path as string] ?? "test-request-later");
      expect(typeof line.ms).toBe("number");
      expect(line.worker === 0 || line.worker === 1).toBe(true);
    }
    // The app's own console.error(error) for /boom: one object, the stack in `err`.
    const boom = err.find((l) => l.msg.includes(`${ids["/boom"]} failed`));
    expect(boom).toMatchObject({ level: 50, err: { message: "fixture: boom" } });
    expect(String((boom?.err as { stack?: string } | undefined)?.stack)).toContain(
      "logging-app.ts",
    );
    expect(
      out.some(
        (l) => l.msg === "the app says { worker: 0 }" || l.msg === "the app says { worker: 1 }",
      ),
    ).toBe(true);
    expect(err.some((l) => l.msg === "the app warns" && l.level === 40)).toBe(true);
    const uncaught = err.find((l) => l.msg === "uncaught exception: fixture: uncaught");
    expect(uncaught).toMatchObject({ level: 50, err: { message: "fixture: uncaught" } });
    const own = err.find((l) => l.msg === "worker.log says");
    expect(own).toMatchObject({ level: 30, route: "/say" });
    expect(`worker ${own?.worker}`).toBe(own?.name as string);
    const tick = err.find((l) => l.name === "extra ticker#0" && l.msg.startsWith("tick 1;"));
    expect(tick).toMatchObject({ extra: "ticker", index: 0, tick: 1 });
    expect(err.some((l) => l.msg.startsWith("stopped (SIGTERM)"))).toBe(true);
    // Lines came from the primary, both workers and the extra.
    expect(new Set(all.map((l) => l.name))).toEqual(
      new Set(["primary", "worker 0", "worker 1", "extra ticker#0"]),
    );
  });

  test("LOG_FORMAT=text: each line starts with time, level, process and pid", async () => {
    const fleet = await startReadyFleet({ env: { ACCESS_LOG: "1", APP_MODULE: APP } });
    await freshFetch(fleet.url("/say"));
    await freshFetch(fleet.url("/boom"));
    await waitFor("the error line", () => fleet.stderr().includes("fixture: boom"));
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
    const prefix =
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info |warn |error) \[(primary|worker \d|extra ticker#0) pid \d+\] /;
    const lines = `${fleet.stdout()}${fleet.stderr()}`.split("\n").filter(Boolean);
    // A stack trace's own lines follow its error line, indented.
    const bad = lines.filter((line) => !prefix.test(line) && !/^\s/.test(line));
    expect(bad).toEqual([]);
    expect(fleet.stdout()).toMatch(
      / info {2}\[worker \d pid \d+\] GET \/say 200 [\d.]+ ms requestId=/,
    );
  });

  test("LOG_LEVEL=warn writes warnings and errors only (and the start banner)", async () => {
    const quiet = await startReadyFleet({ env: { LOG_LEVEL: "warn", APP_MODULE: APP } });
    await freshFetch(quiet.url("/say"));
    await waitFor("the warning", () => quiet.stderr().includes("the app warns"));
    expect(quiet.stdout()).not.toContain("the app says");
    quiet.kill("SIGTERM");
    expect(await quiet.exited).toBe(0);
    expect(quiet.stderr()).not.toContain("stopping (SIGTERM)");
  });
});
