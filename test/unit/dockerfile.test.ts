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
  const app = compose.services.app ?? {};
  const env = app.environment ?? {};
  const deploy = app.deploy as { replicas: number; resources: { limits: { cpus: string } } };

  test("runs two replicas of the app, built from this Dockerfile, with Redis for pub/sub", () => {
    expect(app.build).toBe(".");
    expect(deploy.replicas).toBe(2);
    expect(env.PUBSUB_URL).toBe("redis://redis:6379");
    expect(String(compose.services.redis?.image)).toStartWith("redis:");
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
    expect(deploy.replicas * Number(env.DB_MAX_CONNECTIONS)).toBeLessThan(100);
  });

  test("gives the fleet time to drain and one worker per CPU", () => {
    const drainS = (Number(env.SHUTDOWN_TIMEOUT_MS) + KILL_GRACE_MS) / 1000;
    expect(seconds(String(app.stop_grace_period))).toBeGreaterThan(drainS);
    expect(Number(env.WORKERS)).toBe(Number(deploy.resources.limits.cpus));
    expect(env.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?/); // required, never a default
  });
});
