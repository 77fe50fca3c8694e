import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KILL_GRACE_MS } from "../../workers/primary/primary.ts";
import { isFleetPath, projectFile, seconds } from "../helpers/deploy.ts";
import { execForm, healthcheckCommand, parseDockerfile } from "../helpers/dockerfile.ts";
import { ROOT } from "../helpers/fleet.ts";

const dockerfile = parseDockerfile(await projectFile("Dockerfile"));
const all = (keyword: string) => dockerfile.filter((i) => i.keyword === keyword).map((i) => i.args);
const last = (keyword: string) => all(keyword).at(-1) ?? "";
const ignored = (await projectFile(".dockerignore"))
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"));

/** True when a .dockerignore pattern (a name, or `*.ext`) drops `path` from the build context. */
const isIgnored = (path: string) =>
  ignored.some((pattern) => {
    const top = path.split("/")[0] ?? path;
    if (pattern.startsWith("*.")) return path.endsWith(pattern.slice(1));
    return pattern === path || pattern === top;
  });

describe("Dockerfile", () => {
  test("every stage is on the official oven/bun image of the Bun in use", () => {
    const images = all("FROM").map((args) => args.split(/\s+/)[0]);
    expect(images.length).toBeGreaterThanOrEqual(2); // multi-stage
    for (const image of images) {
      expect(image).toMatch(new RegExp(`^oven/bun:${Bun.version.replaceAll(".", "\\.")}(-\\w+)?$`));
    }
  });

  test("installs production dependencies from the lockfile as committed", () => {
    expect(all("RUN").some((run) => /bun install .*--frozen-lockfile/.test(run))).toBe(true);
    expect(all("RUN").some((run) => /bun install .*--production/.test(run))).toBe(true);
  });

  test("runs as a numeric non-root user", () => {
    const [user = "", group] = last("USER").split(":");
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThan(0);
    if (group !== undefined) expect(Number(group)).toBeGreaterThan(0);
  });

  test("ENTRYPOINT and CMD are exec form: tini, then the primary itself, no shell", () => {
    const entrypoint = execForm(last("ENTRYPOINT"));
    const cmd = execForm(last("CMD"));
    expect(entrypoint).toEqual(["/usr/bin/tini", "--"]);
    expect(cmd?.[0]).toBe("bun");
    expect(cmd?.slice(1)).toEqual(["scripts/start.ts"]);
    expect(existsSync(join(ROOT, "scripts", "start.ts"))).toBe(true);
    expect(all("RUN").some((run) => /apt-get install .*\btini\b/.test(run))).toBe(true);
  });

  test("HEALTHCHECK is exec form and asks a path the fleet answers itself", () => {
    const command = execForm(healthcheckCommand(last("HEALTHCHECK")));
    expect(command?.slice(0, 2)).toEqual(["bun", "-e"]);
    const path = /\/\/[^/]+(\/[a-z/]+)/.exec(command?.[2] ?? "")?.[1] ?? "";
    expect(path).toBe("/healthz");
    expect(isFleetPath(path)).toBe(true);
  });

  test("what it copies exists and is not dropped by .dockerignore; secrets and installs are", () => {
    const sources = all("COPY")
      .filter((args) => !args.startsWith("--from"))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    expect(sources).toContain("bun.lock");
    for (const source of sources) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, ignored: isIgnored(source) }).toEqual({ source, ignored: false });
    }
    for (const path of [".git", "node_modules", ".env", "test"]) expect(isIgnored(path)).toBe(true);
  });
});

const compose = Bun.YAML.parse(await projectFile("compose.yaml")) as {
  services: Record<string, Record<string, unknown> & { environment?: Record<string, string> }>;
};

describe("compose.yaml", () => {
  const apps = ["app1", "app2"].map((name) => compose.services[name] ?? {});
  const app = apps[0] ?? {};
  const env = app.environment ?? {};
  const deploy = app.deploy as { resources: { limits: { cpus: string } } };

  test("HAProxy with the shipped config in front of two app replicas, with Redis and PostgreSQL", async () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      "app1",
      "app2",
      "haproxy",
      "postgres",
      "redis",
    ]);
    expect(apps[1]).toEqual(app); // one definition (a YAML anchor), two "hosts"
    expect(app.build).toEqual({ context: ".", dockerfile: "deploy/binary/Dockerfile" });
    expect(existsSync(join(ROOT, "deploy", "binary", "Dockerfile"))).toBe(true);
    // HAProxy gets deploy/haproxy/haproxy.cfg, whose servers are exactly these services' fleets.
    const haproxy = compose.services.haproxy ?? {};
    expect(String(haproxy.image)).toStartWith("haproxy:");
    expect(haproxy.volumes).toEqual([
      "./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro",
    ]);
    const cfg = await projectFile("deploy/haproxy/haproxy.cfg");
    const servers = [...cfg.matchAll(/^\s*server\s+\S+\s+(\S+)/gm)].map((m) => m[1]);
    expect(servers).toEqual(["app1:3000", "app2:3000"]);
    expect(env.PORT ?? "3000").toBe("3000");
    const bind = /HAPROXY_BIND-(:\d+)/.exec(cfg)?.[1];
    expect(haproxy.ports).toEqual([`${bind?.slice(1)}:${bind?.slice(1)}`]);
    // Pub/sub through Redis, data in PostgreSQL, both healthy before the fleets start.
    expect(env.PUBSUB_URL).toBe("redis://redis:6379");
    expect(String(compose.services.redis?.image)).toStartWith("redis:");
    const postgres = compose.services.postgres ?? {};
    expect(String(postgres.image)).toStartWith("postgres:");
    const pg = postgres.environment ?? {};
    expect(env.DATABASE_URL).toBe(
      `postgres://${pg.POSTGRES_USER}:\${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`,
    );
    expect(app.depends_on).toEqual({
      redis: { condition: "service_healthy" },
      postgres: { condition: "service_healthy" },
    });
  });

  test("the replicas share PostgreSQL (SQLite is one host), within its default max_connections", () => {
    const pg = compose.services.postgres ?? {};
    expect(String(pg.image)).toStartWith("postgres:");
    const pgEnv = pg.environment ?? {};
    const url = new URL(String(env.DATABASE_URL).replace(/\$\{[^}]+\}/, "pw"));
    expect(url.protocol).toBe("postgres:");
    expect([url.username, url.hostname, url.pathname]).toEqual([
      pgEnv.POSTGRES_USER as string,
      "postgres",
      `/${pgEnv.POSTGRES_DB}`,
    ]);
    expect(env.DATABASE_URL).toContain("${POSTGRES_PASSWORD:?"); // required, never a default
    expect(apps.length * Number(env.DB_MAX_CONNECTIONS)).toBeLessThan(100);
  });

  test("gives the fleet time to drain and one worker per CPU", () => {
    const drainS = (Number(env.SHUTDOWN_TIMEOUT_MS) + KILL_GRACE_MS) / 1000;
    expect(seconds(String(app.stop_grace_period))).toBeGreaterThan(drainS);
    expect(Number(env.WORKERS)).toBe(Number(deploy.resources.limits.cpus));
    expect(env.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?/); // required, never a default
  });
});

const binary = parseDockerfile(await projectFile("deploy/binary/Dockerfile"));
const binaryAll = (keyword: string) =>
  binary.filter((i) => i.keyword === keyword).map((i) => i.args);
const binaryLast = (keyword: string) => binaryAll(keyword).at(-1) ?? "";

describe("deploy/binary/Dockerfile (the image on dist/bun-fleet)", () => {
  test("builds with oven/bun of the Bun in use, runs on a small base without Bun", () => {
    const images = binaryAll("FROM").map((args) => args.split(/\s+/)[0] ?? "");
    expect(images[0]).toBe(`oven/bun:${Bun.version}`);
    expect(images.at(-1)).toBe("debian:12-slim");
    expect(binaryAll("RUN").some((run) => /bun install .*--frozen-lockfile/.test(run))).toBe(true);
    expect(
      binaryAll("RUN").some((run) => /bun scripts\/build\.ts --outfile \/out\/bun-fleet/.test(run)),
    ).toBe(true);
    // The runtime stage gets the executable and nothing else from the build.
    const runtime = binary.slice(binary.findLastIndex((i) => i.keyword === "FROM"));
    const copies = runtime.filter((i) => i.keyword === "COPY").map((i) => i.args);
    expect(copies).toEqual(["--from=build /out/bun-fleet /app/bun-fleet"]);
  });

  test("tini is PID 1 and runs the executable; numeric non-root user as in the root image", () => {
    expect(execForm(binaryLast("ENTRYPOINT"))).toEqual(["/usr/bin/tini", "--"]);
    expect(execForm(binaryLast("CMD"))).toEqual(["/app/bun-fleet"]);
    expect(binaryAll("RUN").some((run) => /apt-get install .*\btini\b/.test(run))).toBe(true);
    expect(binaryLast("USER")).toBe(last("USER"));
    expect(
      binaryAll("RUN").some((run) => run.includes(`chown ${binaryLast("USER")} /app/data`)),
    ).toBe(true);
  });

  test("HEALTHCHECK runs the executable as Bun (BUN_BE_BUN=1) against a fleet route", () => {
    const command = execForm(healthcheckCommand(binaryLast("HEALTHCHECK")));
    expect(command?.slice(0, 4)).toEqual(["env", "BUN_BE_BUN=1", "/app/bun-fleet", "-e"]);
    const path = /\/\/[^/]+(\/[a-z/]+)/.exec(command?.[4] ?? "")?.[1] ?? "";
    expect(isFleetPath(path)).toBe(true);
  });

  test("what the build stage copies exists and survives .dockerignore", () => {
    const sources = binaryAll("COPY")
      .filter((args) => !args.startsWith("--from"))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    for (const source of [...sources, "scripts/build.ts", "scripts/bin.ts"]) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, ignored: isIgnored(source) }).toEqual({ source, ignored: false });
    }
    expect(isIgnored("dist")).toBe(true);
  });
});
