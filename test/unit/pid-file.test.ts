import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimPidFile, releasePidFile } from "../../workers/primary/start/pid-file.ts";

let dir = "";
const children: Bun.Subprocess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});
const pidFile = () => {
  dir = mkdtempSync(join(tmpdir(), "pid-file-"));
  return join(dir, "fleet.pid");
};

describe("pid file", () => {
  test("is written with the pid, and removed on release", () => {
    const path = pidFile();
    expect(claimPidFile(path, 4242)).toBeNull();
    expect(readFileSync(path, "utf8")).toBe("4242\n");
    releasePidFile(path, 4242);
    expect(existsSync(path)).toBe(false);
  });

  test("naming a live process, it is refused and left as it was", () => {
    const path = pidFile();
    const live = Bun.spawn(["sleep", "30"]);
    children.push(live);
    writeFileSync(path, `${live.pid}\n`);
    expect(claimPidFile(path, 4242)).toContain(`a fleet already runs as pid ${live.pid}`);
    expect(readFileSync(path, "utf8")).toBe(`${live.pid}\n`);
  });

  test("naming a process that has exited (stale), or holding no pid, it is taken over", async () => {
    const path = pidFile();
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    for (const stale of [`${gone.pid}\n`, "not a pid\n", ""]) {
      writeFileSync(path, stale);
      expect(claimPidFile(path, 4242)).toBeNull();
      expect(readFileSync(path, "utf8")).toBe("4242\n");
    }
  });

  test("release leaves a file that another fleet has claimed since", () => {
    const path = pidFile();
    writeFileSync(path, "777\n");
    releasePidFile(path, 4242);
    expect(readFileSync(path, "utf8")).toBe("777\n");
  });

  test("a file that cannot be written is refused with the reason", () => {
    const path = join(pidFile(), "..", "missing-dir", "fleet.pid");
    expect(claimPidFile(path, 4242)).toMatch(/^PID_FILE .*fleet\.pid: cannot write it \(ENOENT\)$/);
  });
});
