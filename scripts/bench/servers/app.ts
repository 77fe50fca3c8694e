/**
 * The benchmark app, shared by every configuration: the fleet loads it as APP_MODULE, `bare.ts`
 * serves it with one `Bun.serve`, and `node-cluster.ts` (bundled for Node) serves it with
 * `@hono/node-server`. It must stay runtime-neutral: no Bun or Node APIs beyond `process.env`.
 */
import { createHash } from "node:crypto";
import { Hono } from "hono";

/** Env that carries the calibrated size of the CPU route's work to every server. */
export const CPU_BYTES_ENV = "BENCH_CPU_BYTES";

/** Used when the env is unset; the bench calibrates its own value at start. */
const DEFAULT_CPU_BYTES = 1 << 20;

/** The routes every configuration serves, by name. */
export const ROUTES = { hello: "/", json: "/json", cpu: "/cpu" } as const;

/** A route name: `hello`, `json` or `cpu`. */
export type RouteName = keyof typeof ROUTES;

/** The fixed input the CPU route hashes: `bytes` bytes of a repeating 0..255 pattern. */
export function cpuInput(bytes: number): Uint8Array {
  const input = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) input[i] = i & 0xff;
  return input;
}

/**
 * The CPU route's work: SHA-256 over `input`, synchronously on the event loop. Native in both
 * Bun and Node (measured equal per byte), so the route costs the same in each runtime and the
 * comparison is of servers, not JITs (a JS integer loop runs ~20% faster under V8; a float
 * loop ~2× faster under JSC).
 */
export function cpuWork(input: Uint8Array): string {
  return createHash("sha256").update(input).digest("hex");
}

/** The CPU route's size in bytes from env (validated), else the default. */
export function cpuBytesFromEnv(env: Record<string, string | undefined>): number {
  const raw = env[CPU_BYTES_ENV];
  if (raw === undefined || raw === "") return DEFAULT_CPU_BYTES;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${CPU_BYTES_ENV} must be a positive integer; got ${raw}`);
  }
  return value;
}

/** Registers the hello, JSON and CPU-bound routes on `app`. */
export function registerBenchRoutes(app: Hono, cpuBytes: number): Hono {
  const input = cpuInput(cpuBytes);
  app.get(ROUTES.hello, (c) => c.text("Hello, World!"));
  app.get(ROUTES.json, (c) => c.json({ message: "Hello, World!" }));
  app.get(ROUTES.cpu, (c) => c.json({ bytes: cpuBytes, sha256: cpuWork(input) }));
  return app;
}

/** Env that makes a server answer through `rawFetch` instead of the Hono app. */
export const RAW_ENV = "BENCH_RAW";

/**
 * The hello and JSON routes without Hono: a plain fetch handler, to tell a runtime's HTTP stack
 * from the framework's JavaScript running on its engine (the peers bench pairs Deno and Bun so).
 */
export function rawFetch(request: Request): Response {
  const path = new URL(request.url).pathname;
  if (path === ROUTES.hello) return new Response("Hello, World!");
  if (path === ROUTES.json) return Response.json({ message: "Hello, World!" });
  return new Response("Not Found", { status: 404 });
}

/** A fresh Hono app with the bench routes; also the APP_MODULE default export for the fleet. */
export function createBenchApp(): Hono {
  return registerBenchRoutes(new Hono(), cpuBytesFromEnv(process.env));
}

export default createBenchApp;
