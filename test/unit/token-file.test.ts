import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  readTokenFile,
  removeTokenFile,
  runningFleets,
  tokenDir,
  writeTokenFile,
} from "../../workers/primary/start/token-file.ts";

describe("token file", () => {
  test("names the token, the primary and its URL; running fleets skip files whose primary is gone", async () => {
    const env = { XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "fleet-token-")) };
    try {
      const url = "http://127.0.0.1:4101";
      const path = writeTokenFile(4101, "live-token-0123456789", { pid: process.pid, url }, env);
      expect(readFileSync(path, "utf8")).toBe(
        `live-token-0123456789\npid=${process.pid}\nurl=${url}\n`,
      );
      expect(readTokenFile(4101, env)).toBe("live-token-0123456789");
      const gone = Bun.spawn(["true"]);
      await gone.exited;
      writeTokenFile(4102, "stale-token-0123456789", { pid: gone.pid, url: "x" }, env);
      // A file with the token alone (no pid to check) is kept; other names are not token files.
      writeFileSync(join(tokenDir(env), "port-4103.token"), "bare-token-0123456789\n");
      writeFileSync(join(tokenDir(env), "port-x.token"), "nope\n");
      writeFileSync(join(tokenDir(env), "port-4104.token"), "\n");
      expect(runningFleets(env)).toEqual([
        { port: 4101, token: "live-token-0123456789", pid: process.pid, url, path },
        {
          port: 4103,
          token: "bare-token-0123456789",
          pid: 0,
          url: "http://127.0.0.1:4103",
          path: join(tokenDir(env), "port-4103.token"),
        },
      ]);
      removeTokenFile(4101, "live-token-0123456789", env);
      expect(runningFleets(env).map((f) => f.port)).toEqual([4103]);
    } finally {
      rmSync(env.XDG_RUNTIME_DIR, { recursive: true, force: true });
    }
  });

  test("no token directory: no running fleets", () => {
    expect(runningFleets({ XDG_RUNTIME_DIR: join(tmpdir(), "fleet-token-none-0") })).toEqual([]);
  });
});
