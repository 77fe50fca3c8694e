import { describe, expect, test } from "bun:test";
import { type ConfigInput, resolveConfig } from "../../workers/primary/config/config.ts";
import {
  type ChildInit,
  childSettings,
  MAX_CONTEXT_BYTES,
  parseChildInit,
} from "../../workers/worker-init.ts";

const files: Record<string, string> = {
  "/project/app/index.ts": "",
  "/project/app/hooks.ts": "",
  "/here/contexts.json": '[{"a":1},{"a":2},{"a":3}]',
  "/here/bad.json": "{",
};

function input(over: Partial<ConfigInput> = {}): ConfigInput {
  return {
    argv: [],
    env: {},
    platform: "linux",
    cpus: 4,
    cwd: "/here",
    root: "/project",
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
      return text;
    },
    exists: (path) => path in files,
    ...over,
  };
}

function ok(over: Partial<ConfigInput> = {}) {
  const result = resolveConfig(input(over));
  if (result.kind !== "ok") throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result;
}

function error(over: Partial<ConfigInput>): string {
  const result = resolveConfig(input(over));
  if (result.kind !== "error") throw new Error(`expected an error, got ${result.kind}`);
  return result.message;
}

describe("resolveConfig", () => {
  test("defaults: port 3000, all interfaces, one worker per core, generated token", () => {
    const { config } = ok();
    expect(config).toMatchObject({ port: 3000, host: "0.0.0.0", workers: 4, contexts: null });
    expect(config.shutdownTimeoutMs).toBe(10_000);
    expect(config.appModule).toBe("/project/app/index.ts");
    expect(config.adminTokenGenerated).toBe(true);
    expect(config.adminToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(ok().config.adminToken).not.toBe(config.adminToken);
  });

  test("WebSocket limits default to 1 MiB messages, 120 s idle, 1 MiB queued per client", () => {
    expect(ok().config).toMatchObject({
      wsMaxPayloadBytes: 1024 * 1024,
      wsIdleTimeoutS: 120,
      wsBackpressureLimitBytes: 1024 * 1024,
    });
    expect(ok({ env: { WS_IDLE_TIMEOUT_S: "0" } }).config.wsIdleTimeoutS).toBe(0);
  });

  test("PID_FILE resolves against the working directory; unset, there is none", () => {
    expect(ok().config.pidFile).toBeNull();
    const exists = (path: string) => path === "/here/run" || path in files;
    expect(ok({ env: { PID_FILE: "run/fleet.pid" }, exists }).config.pidFile).toBe(
      "/here/run/fleet.pid",
    );
  });

  test("a flag wins over its env variable", () => {
    const { config } = ok({ argv: ["--port", "8080"], env: { PORT: "9090" } });
    expect(config.port).toBe(8080);
    expect(ok({ argv: ["--port=7070"] }).config.port).toBe(7070);
  });

  test("an empty env variable counts as unset", () => {
    expect(ok({ env: { WORKERS: "", PORT: "" } }).config).toMatchObject({ workers: 4, port: 3000 });
  });

  test("WORKER_CONTEXTS alone sets the worker count", () => {
    const { config } = ok({ env: { WORKER_CONTEXTS: '[{"shard":"a"},{"shard":"b"}]' } });
    expect(config.workers).toBe(2);
    expect(config.contexts).toEqual([{ shard: "a" }, { shard: "b" }]);
  });

  test("contexts are read from a file relative to the working directory", () => {
    const { config } = ok({ argv: ["--contexts-file", "contexts.json"] });
    expect(config.workers).toBe(3);
    expect(config.contexts?.[2]).toEqual({ a: 3 });
  });

  test("module paths given by the user resolve against the working directory", () => {
    const { config } = ok({ env: { APP_MODULE: "contexts.json" } });
    expect(config.appModule).toBe("/here/contexts.json");
  });

  test("non-Linux runs one worker and says why", () => {
    const result = ok({ platform: "darwin", env: { WORKERS: "4" } });
    expect(result.config.workers).toBe(1);
    expect(result.warnings[0]).toContain("reusePort load balancing is Linux-only");
    expect(ok({ platform: "win32" }).config.workers).toBe(1);
  });

  test("a given ADMIN_TOKEN is used and never echoed in errors", () => {
    expect(ok({ env: { ADMIN_TOKEN: "a-long-enough-token-1" } }).config.adminTokenGenerated).toBe(
      false,
    );
    const message = error({ env: { ADMIN_TOKEN: "has spaces in the secret token" } });
    expect(message).toContain("ADMIN_TOKEN: may only use");
    expect(message).not.toContain("secret");
  });

  test.each([
    [{ env: { WORKERS: "0" } }, 'WORKERS="0": must be a whole number from 1 to 1024'],
    [{ env: { WORKERS: "1.5" } }, 'WORKERS="1.5": must be a whole number'],
    [{ env: { PORT: "-1" } }, 'PORT="-1": must be a whole number from 1 to 65535'],
    [{ env: { SHUTDOWN_TIMEOUT_MS: "soon" } }, "SHUTDOWN_TIMEOUT_MS"],
    [{ env: { HOST: "  " } }, "HOST"],
    [{ env: { WORKER_CONTEXTS: "{}" } }, 'WORKER_CONTEXTS="{}": must be a JSON array'],
    [{ env: { WORKER_CONTEXTS: "[]" } }, "must be a non-empty JSON array"],
    [{ env: { WORKER_CONTEXTS: "[1]", WORKER_CONTEXTS_FILE: "contexts.json" } }, "use one"],
    [{ env: { WORKER_CONTEXTS_FILE: "nope.json" } }, "cannot read nope.json (ENOENT)"],
    [
      { env: { WORKER_CONTEXTS_FILE: "bad.json" } },
      "WORKER_CONTEXTS_FILE (bad.json): is not valid JSON",
    ],
    [{ argv: ["--contexts", "[1,2]", "--workers", "3"] }, "has 2 entries but WORKERS is 3"],
    [{ argv: ["extra"] }, "unexpected argument extra"],
    [{ argv: ["--port"] }, "--port needs a value"],
    [{ argv: ["--token", "x"] }, "unknown option --token"],
    [{ argv: ["--port", "--host", "::"] }, "--port needs a value"],
    [{ argv: ["--worker-index-header=1"] }, "--worker-index-header takes no value"],
    [{ argv: ["-p", "1"] }, "unexpected argument -p"],
    [{ env: { WORKER_INDEX_HEADER: "maybe" } }, 'WORKER_INDEX_HEADER="maybe": must be 1 or 0'],
    [{ env: { HOOKS_MODULE: "missing.ts" } }, "HOOKS_MODULE: no such file missing.ts"],
    [{ env: { MAX_MEMORY_MB: "8" } }, 'MAX_MEMORY_MB="8": must be 0 (off) or at least 32'],
    [{ env: { PID_FILE: "missing/fleet.pid" } }, "PID_FILE: no such directory missing"],
    [{ env: { WS_MAX_PAYLOAD_BYTES: "0" } }, 'WS_MAX_PAYLOAD_BYTES="0": must be a whole number'],
    [{ env: { WS_IDLE_TIMEOUT_S: "961" } }, 'WS_IDLE_TIMEOUT_S="961": must be a whole number'],
    [{ argv: ["--ws-backpressure-limit", "1k"] }, '--ws-backpressure-limit="1k"'],
  ] as [Partial<ConfigInput>, string][])("%j is refused: %s", (over, expected) => {
    expect(error(over)).toContain(expected);
  });

  test("a context too large for the env is refused with its size", () => {
    const big = JSON.stringify([{ blob: "x".repeat(MAX_CONTEXT_BYTES) }]);
    expect(error({ env: { WORKER_CONTEXTS: big } })).toMatch(/entry 0 is \d+ bytes of JSON/);
  });

  test("--name=value, repeated flags (last wins) and switches read as the env would", () => {
    const result = resolveConfig(
      input({
        argv: ["--port=4000", "--host", "127.0.0.1", "--port", "4001", "--worker-index-header"],
        env: { WORKER_INDEX_HEADER: "0", WORKER_CONTEXTS: '[{"k":"a=b"}]' },
      }),
    );
    if (result.kind !== "ok") throw new Error(JSON.stringify(result));
    expect(result.config.port).toBe(4001);
    expect(result.config.host).toBe("127.0.0.1");
    expect(result.config.workerIndexHeader).toBe(true); // the flag wins over the env
    expect(result.config.contexts).toEqual([{ k: "a=b" }]);
    const eq = resolveConfig(input({ argv: ['--contexts=[{"k":"a=b"}]'] }));
    expect(eq.kind === "ok" && eq.config.contexts).toEqual([{ k: "a=b" }]);
  });

  test("a generated admin token is 32 URL-safe characters, new each time", () => {
    const token = () => {
      const result = resolveConfig(input({}));
      return result.kind === "ok" ? result.config.adminToken : "";
    };
    expect(token()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(token()).not.toBe(token());
  });

  test("--help and -h ask for help", () => {
    expect(resolveConfig(input({ argv: ["--help"] })).kind).toBe("help");
    expect(resolveConfig(input({ argv: ["-h"] })).kind).toBe("help");
  });
});

describe("the settings children take", () => {
  test("are the ones marked child (plus tls and dev), as resolved; the primary's own stay behind", () => {
    const { config } = ok({ env: { MAX_REQUESTS: "9", PORT: "8080" } });
    const picked = childSettings(config);
    expect(picked.port).toBe(8080);
    expect(picked.appModule).toBe("/project/app/index.ts");
    expect(picked.adminToken).toBe(config.adminToken);
    expect(Object.keys(picked)).toContain("tls");
    expect(Object.keys(picked)).toContain("dev");
    for (const own of ["pidFile", "workers", "maxRequests", "pubsubUrl", "crashLoopLimit"]) {
      expect(Object.keys(picked)).not.toContain(own);
    }
  });

  test("pass the check a child makes at spawn, as the primary resolved them", () => {
    const { config } = ok({ env: { ADMIN_TOKEN: undefined } });
    const init: ChildInit = {
      ...childSettings(config),
      extra: null,
      index: 0,
      context: null,
      setup: null,
      config: {},
      heartbeatMs: 1000,
      maxRequests: 0,
    };
    expect(parseChildInit(JSON.stringify(init))).toEqual({ ok: true, value: init });
  });
});
