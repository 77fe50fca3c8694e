import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createApp, PUBLIC_DIR } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

const worker = fakeWorker({ index: 3, pid: 4242, context: { shard: "c" } });

describe("template app: app/index.ts (/hello, /worker, app/public/, errors)", () => {
  test("GET /hello says hello from its worker", async () => {
    const res = await createApp(worker).request("/hello");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("Hello from worker 3\n");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("GET / serves app/public/index.html, and other files of app/public by name", async () => {
    const res = await createApp(worker).request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    const html = await res.text();
    expect(html).toBe(await Bun.file(join(PUBLIC_DIR, "index.html")).text());
    const byName = await createApp(worker).request("/index.html");
    expect(await byName.text()).toBe(html);
    expect((await createApp(worker).request("/missing.css")).status).toBe(404);
    expect((await createApp(worker).request("/../index.ts")).status).toBe(404);
  });

  test("no middleware on every path: GET routes take Hono's one-handler fast path", () => {
    // A middleware on every path (app.use) would put every request through compose, one async
    // dispatch per layer (why app/response-headers.ts stamps the headers around the app instead).
    // A route's own validator is fine; the rate limit on /api/* is opt-in.
    const app = createApp(worker);
    const handlersOf = (method: string, path: string) =>
      app.router.match(method, path)[0].map(([[, route]]) => `${route.method} ${route.path}`);
    for (const path of ["/hello", "/worker", "/api/todos/1", "/events"]) {
      expect(handlersOf("GET", path)).toHaveLength(1);
    }
    // The validator and the handler of that one route, nothing else.
    expect(handlersOf("GET", "/api/todos")).toEqual(["GET /api/todos", "GET /api/todos"]);
    expect(handlersOf("POST", "/api/todos")).toEqual(["POST /api/todos", "POST /api/todos"]);
    expect(handlersOf("GET", "/no/route/here")).toEqual([]);
  });

  test("GET /worker shows index, pid and context", async () => {
    const res = await createApp(worker).request("/worker");
    expect(await res.json()).toEqual({ index: 3, pid: 4242, context: { shard: "c" } });
  });

  test("an unknown route is 404 JSON", async () => {
    const res = await createApp(worker).request("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Not Found" });
  });

  test("a thrown error is 500 JSON without stack or message", async () => {
    const app = createApp(worker);
    app.get("/boom", () => {
      throw new Error("database password is hunter2");
    });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const res = await app.request("/boom");
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toContain("hunter2");
      expect(text).not.toContain("at ");
      const body = JSON.parse(text) as { error: string; requestId: string };
      expect(body.error).toBe("Internal Server Error");
      expect(body.requestId).toBe(res.headers.get("x-request-id") ?? "missing");
      expect(errors).toHaveLength(1); // the stack goes to the server log
    } finally {
      console.error = original;
    }
  });
});
