import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createApp, PUBLIC_DIR } from "../../app/index.ts";
import { ECHO_BODY_LIMIT } from "../../app/routes/echo.ts";
import { fakeWorker } from "../helpers/worker.ts";

const worker = fakeWorker({ index: 3, pid: 4242, context: { shard: "c" } });

/** Reads an SSE body to its end. */
const readAll = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

const post = (body: string, headers: Record<string, string> = {}) =>
  createApp(worker).request("/api/echo", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

describe("template app", () => {
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

  test("GET /worker shows index, pid and context", async () => {
    const res = await createApp(worker).request("/worker");
    expect(await res.json()).toEqual({ index: 3, pid: 4242, context: { shard: "c" } });
  });

  test("POST /api/echo answers a valid body", async () => {
    const res = await post(JSON.stringify({ message: "hi", times: 2 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echo: ["hi", "hi"] });
  });

  test("schema errors are 422 with the issues as a JSON array", async () => {
    const res = await post(JSON.stringify({ message: "", times: 99 }));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; issues: { path: unknown[] }[] };
    expect(body.error).toBe("Validation failed");
    expect(Array.isArray(body.issues)).toBe(true);
    expect(body.issues.map((issue) => issue.path)).toEqual([["message"], ["times"]]);
  });

  test("malformed JSON is 400 JSON", async () => {
    const res = await post('{"message": ');
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ error: "Malformed JSON in request body" });
  });

  test("a body over the limit is 413 JSON", async () => {
    const res = await post(JSON.stringify({ message: "x".repeat(ECHO_BODY_LIMIT) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "Payload Too Large", limit: ECHO_BODY_LIMIT });
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

  test("GET /events ends with a bye event at once when the worker already drains", async () => {
    const drain = new AbortController();
    drain.abort();
    const res = await createApp({ ...worker, signal: drain.signal }).request("/events");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(await readAll(res)).toBe("event: bye\ndata: worker draining\n\n");
  });

  test("GET /events ticks until worker.signal aborts, then ends", async () => {
    const drain = new AbortController();
    const res = await createApp({ ...worker, signal: drain.signal }).request("/events");
    const body = readAll(res);
    await Bun.sleep(20); // the first tick is written at once; the next waits a second
    drain.abort();
    const text = await body;
    expect(text).toMatch(/^event: tick\ndata: \{"worker":3,"time":\d+\}\nid: 0\n\n/);
    expect(text).toEndWith("event: bye\ndata: worker draining\n\n");
  });

  test("GET /ws/echo without an Upgrade header answers 426 JSON", async () => {
    const res = await createApp(worker).request("/ws/echo");
    expect(res.status).toBe(426);
    expect(await res.json()).toEqual({
      error: "Upgrade Required: connect with a WebSocket client",
    });
  });
});
