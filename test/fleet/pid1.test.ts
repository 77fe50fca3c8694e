import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, freePort, scaled, TOKEN, waitFor } from "../helpers/fleet.ts";
import { buildImage, type Image } from "../helpers/image.ts";
import { startInPidNamespace } from "../helpers/pid-namespace.ts";

let image: Image;
/** The `PATH` the image's processes get: its own `bun` first, as `oven/bun` has it in /usr/local/bin. */
let imagePath = "";
/** The fixtures the image runs, copied into it (the image's user may not read the checkout). */
let fixtures = "";
beforeAll(async () => {
  image = await buildImage();
  // The image's user (uid 10001) gets everything it runs inside the image's own folder, as in the
  // real image: a checkout under a private folder (0700, e.g. /root or one made by mktemp -d) is
  // out of its reach, and so is a `bun` installed under a home directory.
  fixtures = join(image.dir, "test", "fixtures");
  mkdirSync(fixtures, { recursive: true });
  for (const name of ["base-app", "orphan-hooks.ts", "orphan-extra.ts"])
    cpSync(join(FIXTURES, name), join(fixtures, name), { recursive: true });
  const bin = join(image.root, "bin");
  mkdirSync(bin);
  cpSync(process.execPath, join(bin, "bun"));
  chmodSync(bin, 0o755);
  chmodSync(join(bin, "bun"), 0o755);
  imagePath = `${bin}:/usr/local/bin:/usr/bin:/bin`;
}, 60_000);
afterAll(() => {
  if (image) rmSync(image.root, { recursive: true, force: true });
});

/** Runs the image's HEALTHCHECK command in the image, against `port`; its exit code. */
function runHealthcheck(port: number): Promise<number> {
  const proc = Bun.spawn(image.healthcheck, {
    cwd: image.dir,
    env: { PATH: imagePath, PORT: String(port) },
    stdout: "ignore",
    stderr: "ignore",
  });
  return proc.exited;
}

/** The real uid of `pid` (from /proc/<pid>/status). */
const uidOf = (pid: number) =>
  Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

describe("the image, built without Docker, run as PID 1 of a PID namespace", () => {
  test(
    "as its non-root user it serves, reaps orphaned grandchildren, passes its HEALTHCHECK, reloads on SIGHUP, and drains on SIGTERM with exit 0",
    async () => {
      expect(image.command[0]).toBe("/usr/bin/tini");
      const port = await freePort();
      const ns = await startInPidNamespace(image.command, {
        cwd: image.dir,
        user: { uid: image.uid, gid: image.gid },
        env: {
          ...image.env,
          PATH: imagePath,
          HOME: "/", // what Docker gives a uid with no passwd entry: not writable by it
          PORT: String(port),
          HOST: "127.0.0.1",
          WORKERS: "2",
          ADMIN_TOKEN: TOKEN,
          SHUTDOWN_TIMEOUT_MS: "5000",
          DRAIN_WINDOW_MS: "100",
          WORKER_INDEX_HEADER: "1",
          // The image's runtime serves the runtime's test app (copied into it), not the template's app/.
          APP_MODULE: join(fixtures, "base-app", "index.ts"),
          HOOKS_MODULE: join(fixtures, "orphan-hooks.ts"),
        },
      });
      await waitFor(
        () => `the banner and the orphan\n${ns.stdout()}\n${ns.stderr()}`,
        () => ns.stdout().includes("bun-fleet: serving") && ns.stderr().includes("orphaned sleep"),
        10_000,
      );
      const res = await fetch(`http://127.0.0.1:${port}/hello`);
      expect(await res.text()).toMatch(/^Hello from worker [01]\n$/);
      if (process.getuid?.() === 0) {
        for (const p of ns.processes())
          expect({ comm: p.comm, uid: uidOf(p.pid) }).toEqual({ comm: p.comm, uid: image.uid });
      }
      // The fixture's `sleep` was re-parented to PID 1 and exits after 0.3 s: PID 1 must reap it.
      await waitFor(
        () => `the orphan to be reaped: ${JSON.stringify(ns.processes())}`,
        () => ns.processes().every((p) => p.comm !== "sleep"),
        3000,
      );
      expect(ns.processes().filter((p) => p.state === "Z")).toEqual([]);

      expect(await runHealthcheck(port)).toBe(0);
      expect(await runHealthcheck(await freePort())).toBe(1);

      // tini passes SIGHUP on to the primary: a rolling reload, as `docker kill -s HUP` would ask.
      process.kill(ns.init, "SIGHUP");
      await waitFor(
        () => `a rolling reload after SIGHUP to PID 1\n${ns.stderr()}`,
        () => /reload \(SIGHUP\) complete/.test(ns.stderr()),
        10_000,
      );

      process.kill(ns.init, "SIGTERM");
      expect({ code: await ns.exited, log: ns.stderr() }).toMatchObject({ code: 0 });
      expect(ns.stderr()).toContain("stopped (SIGTERM)");
      expect(ns.stderr()).toContain("extra orphaner#0");
      expect(ns.processes()).toEqual([]);
    },
    scaled(20_000),
  );
});
