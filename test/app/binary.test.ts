/**
 * `bun run build` → `dist/bun-fleet`, run the way it ships: copied alone into an empty directory,
 * with no `bun` on PATH. Builds are cached by source hash (test/helpers/binary.ts).
 */
import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtBinary, replaceIn } from "../helpers/binary.ts";
import { projectFile } from "../helpers/deploy.ts";
import { execForm, healthcheckCommand, parseDockerfile } from "../helpers/dockerfile.ts";
import {
  admin,
  count,
  freePort,
  freshFetch,
  ROOT,
  startFleet,
  startReadyFleet,
  TOKEN,
  waitFor,
} from "../helpers/fleet.ts";
import { startInPidNamespace } from "../helpers/pid-namespace.ts";
import { parseRaw, rawRequest } from "../helpers/raw-http.ts";
import { requestLoop } from "../helpers/request-loop.ts";

/** A PATH that holds no bun (the directory of the binary itself, and nothing else). */
const noBunPath = (dir: string) => {
  expect(Bun.which("bun", { PATH: dir })).toBeNull();
  return dir;
};

/** The binary copied alone into an empty temp directory (removed when the test ends). */
async function shipped(binary: string): Promise<{ dir: string; file: string; done: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "bun-fleet-binary-"));
  const file = join(dir, "bun-fleet");
  copyFileSync(binary, file);
  return { dir, file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const exeOf = (pid: number) => readlinkSync(`/proc/${pid}/exe`);

/** The template has /api/todos once the database lands; the checks below follow it. */
const HAS_TODOS = readdirSync(join(ROOT, "app"), { recursive: true, encoding: "utf8" }).some(
  (file) => file.endsWith(".ts") && readFileSync(join(ROOT, "app", file), "utf8").includes("todos"),
);

describe("dist/bun-fleet", () => {
  test("copied alone, without bun on PATH: --help, a bad setting, SIGTERM, like bun run start", async () => {
    const { dir, file, done } = await shipped(await builtBinary());
    try {
      const env = { PATH: noBunPath(dir), HOME: dir };
      const help = Bun.spawnSync([file, "--help"], { cwd: dir, env });
      expect(help.exitCode).toBe(0);
      expect(help.stdout.toString()).toContain("Usage: bun-fleet");
      expect(help.stdout.toString()).toContain("--workers <value>");
      const bad = Bun.spawnSync([file, "--workers", "lots"], { cwd: dir, env });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr.toString()).toContain("invalid configuration");

      // `migrate` is scripts/migrate.ts's main when the build had one, else a clear exit 2.
      const migrate = Bun.spawnSync([file, "migrate"], { cwd: dir, env });
      if (existsSync(join(ROOT, "scripts", "migrate.ts"))) expect(migrate.exitCode).toBe(0);
      else {
        expect(migrate.exitCode).toBe(2);
        expect(migrate.stderr.toString()).toStartWith(
          "bun-fleet migrate: no migrations in this build",
        );
      }

      const fleet = await startReadyFleet({ command: [file], cwd: dir, env });
      expect(fleet.stdout()).toContain(
        "app app/index.ts (embedded); hooks app/hooks.ts (embedded)",
      );
      // The binary carries no admin CLI scripts: its banner points at the dashboard and the API.
      expect(fleet.stdout()).toContain("see it: http://127.0.0.1:");
      expect(fleet.stdout()).not.toContain("bun run status");
      fleet.kill("SIGTERM");
      expect(await fleet.exited).toBe(0);
      expect(fleet.pids()).toEqual([]);
    } finally {
      done();
    }
  });

  test("APP_MODULE given at run time is read from the disk: served alone, its bare imports need node_modules", async () => {
    const { dir, file, done } = await shipped(await builtBinary());
    try {
      const env = { PATH: noBunPath(dir), HOME: dir, WORKERS: "1" };
      writeFileSync(
        join(dir, "plain.ts"),
        'export default { fetch: () => new Response("plain\\n") };\n',
      );
      writeFileSync(
        join(dir, "with-hono.ts"),
        'import { Hono } from "hono";\nexport default new Hono();\n',
      );
      const plain = await startReadyFleet({
        command: [file],
        cwd: dir,
        env: { ...env, APP_MODULE: "plain.ts" },
      });
      expect(await (await freshFetch(plain.url("/"))).text()).toBe("plain\n");
      plain.kill("SIGTERM");
      expect(await plain.exited).toBe(0);
      const hono = await startFleet({
        command: [file],
        cwd: dir,
        env: { ...env, APP_MODULE: "with-hono.ts" },
      });
      expect(await hono.exited).toBe(3); // a boot failure, as with bun run start
      expect(hono.stderr()).toContain("Cannot find package 'hono'");
    } finally {
      done();
    }
  });

  test("two workers serve the app, every process is the binary, an upgrade by rename + SIGHUP loses nothing", async () => {
    const [v1, v2] = await Promise.all([
      builtBinary(),
      builtBinary({
        name: "v2",
        edit: (root) =>
          replaceIn(root, "app/index.ts", "Hello from worker", "Hello again from worker"),
      }),
    ]);
    const { dir, file, done } = await shipped(v1);
    try {
      const fleet = await startReadyFleet({
        command: [file],
        cwd: dir,
        env: { PATH: noBunPath(dir), HOME: dir, DRAIN_WINDOW_MS: "200" },
      });
      // Both workers answer /hello; / is app/public/index.html; the dashboard page is embedded.
      const seen = new Set<string>();
      await waitFor("both workers to answer /hello", async () => {
        const res = await freshFetch(fleet.url("/hello"));
        seen.add(await res.text());
        return seen.size === 2;
      });
      expect([...seen].sort()).toEqual(["Hello from worker 0\n", "Hello from worker 1\n"]);
      const index = await freshFetch(fleet.url("/"));
      expect(index.status).toBe(200);
      expect(await index.text()).toBe(
        readFileSync(join(ROOT, "app", "public", "index.html"), "utf8"),
      );
      expect((await freshFetch(fleet.url("/chat"))).status).toBe(200);
      expect((await freshFetch(fleet.url("/admin"))).status).toBe(200);
      const ready = parseRaw(await rawRequest(fleet.port, "GET /readyz HTTP/1.0\r\n\r\n"));
      expect(ready.status).toBe(200);
      if (HAS_TODOS) {
        const created = await fetch(fleet.url("/api/todos"), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ title: "from the binary" }),
        });
        expect(created.status).toBe(201);
        expect((await fetch(fleet.url("/api/todos"))).status).toBe(200);
        expect(existsSync(join(dir, "data"))).toBe(true); // SQLite under ./data of the cwd
      }

      // The primary, both workers and the template's extra all run the file in the directory.
      const pids = fleet.pids();
      expect(pids).toHaveLength(4);
      for (const pid of pids) expect(exeOf(pid)).toBe(file);

      // Upgrade in place: the new build is renamed over the file, then a rolling reload.
      // Keep-alive clients (each reconnects when a retiring worker answers Connection: close).
      // Not a new connection per request: with net.ipv4.tcp_migrate_req=0 (this machine's, and
      // the kernel's default) a connection queued on a retiring worker's listener as it closes is
      // reset by the kernel, whatever the executable (2 of 12 runs here); the several-hosts test
      // covers new connections through HAProxy, and the reload-under-load test with the sysctl.
      const loop = requestLoop(fleet.url("/hello"), { keepAlive: 4, fresh: 0 });
      await waitFor("the loop to get going", () => loop.result.ok > 20);
      copyFileSync(v2, `${file}.new`);
      renameSync(`${file}.new`, file);
      fleet.kill("SIGHUP");
      await waitFor(
        "the reload to complete",
        () => fleet.stderr().includes("reload (SIGHUP) complete"),
        15_000,
      );
      await waitFor(
        "the old workers to retire",
        () => count(fleet.stderr(), /worker \d \(pid \d+\) retired/g) === 2,
      );
      const afterReload = loop.result.ok;
      await waitFor("requests after the reload", () => loop.result.ok > afterReload + 20);
      const result = await loop.stop();
      expect(result.ok).toBeGreaterThan(50);
      expect(result.failures).toEqual([]);
      expect(result.failed).toBe(0);
      expect([...result.bodies.keys()].some((body) => body.startsWith("Hello again"))).toBe(true);
      // Both new workers serve the new code, and no old one is left.
      const again = new Set<string>();
      await waitFor("both new workers to answer", async () => {
        again.add(await (await freshFetch(fleet.url("/hello"))).text());
        return again.size === 2;
      });
      expect([...again].sort()).toEqual([
        "Hello again from worker 0\n",
        "Hello again from worker 1\n",
      ]);
      for (let i = 0; i < 10; i++) {
        const text = await (await freshFetch(fleet.url("/hello"))).text();
        expect(text).toStartWith("Hello again");
      }
      // New workers run the new file; the primary still runs the old one, now unlinked.
      const workers = fleet.pids().filter((pid) => pid !== fleet.pid);
      expect(workers).toHaveLength(3);
      for (const pid of workers) expect(exeOf(pid)).toBe(file);
      expect(exeOf(fleet.pid)).toBe(`${file} (deleted)`);

      const stop = await admin(fleet.url("/admin/stop"));
      expect(stop.status).toBe(202);
      expect(await fleet.exited).toBe(0);
      expect(fleet.pids()).toEqual([]);
    } finally {
      done();
    }
  });

  test("the binary image's runtime stage, emulated: tini + the executable as PID 1, uid 10001, no Bun", async () => {
    const dockerfile = parseDockerfile(await projectFile("deploy/binary/Dockerfile"));
    const runtime = dockerfile.slice(dockerfile.findLastIndex((i) => i.keyword === "FROM"));
    const arg = (keyword: string) => runtime.findLast((i) => i.keyword === keyword)?.args ?? "";
    const { dir, file, done } = await shipped(await builtBinary());
    try {
      // The image's /app: the executable and a data/ folder the user owns.
      const inImage = (args: string[]) => args.map((a) => (a === "/app/bun-fleet" ? file : a));
      const [uid, gid] = arg("USER").split(":").map(Number) as [number, number];
      chmodSync(dir, 0o755);
      mkdirSync(join(dir, "data"));
      if (process.getuid?.() === 0) chownSync(join(dir, "data"), uid, gid);
      const command = inImage([
        ...(execForm(arg("ENTRYPOINT")) ?? []),
        ...(execForm(arg("CMD")) ?? []),
      ]);
      expect(command).toEqual(["/usr/bin/tini", "--", file]);
      // The namespace is made with unshare and setpriv, found on PATH: links to them alone.
      const tools = join(dir, "tools");
      mkdirSync(tools);
      for (const tool of ["unshare", "setpriv"]) {
        const path = Bun.which(tool);
        if (path) symlinkSync(path, join(tools, tool));
      }
      const port = await freePort();
      const ns = await startInPidNamespace(command, {
        cwd: dir,
        user: { uid, gid },
        env: {
          PATH: noBunPath(tools),
          HOME: "/",
          NODE_ENV: "production",
          PORT: String(port),
          HOST: "127.0.0.1",
          WORKERS: "2",
          ADMIN_TOKEN: TOKEN,
        },
      });
      await waitFor(
        () => `the banner\n${ns.stdout()}\n${ns.stderr()}`,
        () => ns.stdout().includes("bun-fleet: serving"),
        10_000,
      );
      expect(await (await fetch(`http://127.0.0.1:${port}/hello`)).text()).toMatch(
        /^Hello from worker [01]\n$/,
      );
      if (process.getuid?.() === 0) {
        const uidOf = (pid: number) =>
          Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
        const processes = ns.processes();
        expect(processes.length).toBe(5); // tini, the primary, two workers, the job process (an extra)
        for (const p of processes)
          expect({ comm: p.comm, uid: uidOf(p.pid) }).toEqual({ comm: p.comm, uid });
      }
      // The HEALTHCHECK command, as the image has it.
      const health = inImage(execForm(healthcheckCommand(arg("HEALTHCHECK"))) ?? []);
      const check = Bun.spawnSync(health, {
        env: { PATH: `${dir}:/usr/bin:/bin`, PORT: String(port) },
      });
      expect(check.exitCode).toBe(0);
      // docker stop: SIGTERM to PID 1 (tini), forwarded to the primary, which drains.
      process.kill(ns.init, "SIGTERM");
      expect(await ns.exited).toBe(0);
      expect(ns.processes()).toEqual([]);
    } finally {
      done();
    }
  });
});
