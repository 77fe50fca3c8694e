import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDb, DatabaseUnavailable, openDb } from "../../app/db/index.ts";
import { migrate } from "../../app/db/migrate.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { createApp } from "../../app/index.ts";
import { requestId } from "../../app/response-headers.ts";
import { fakeWorker } from "../helpers/worker.ts";

/**
 * The exact response headers of the template app: the security headers hono/secure-headers sends
 * by default, with its values, and an X-Request-Id (app/response-headers.ts stamps them). Written
 * out here, not imported, so a faster way of setting them cannot drop or change one unnoticed.
 */
const SECURITY: Record<string, string> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=15552000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "SAMEORIGIN",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const JSON_TYPE = "application/json";

const headersOf = (res: Response) => Object.fromEntries(res.headers);
/** The security headers, a fresh request id, and `extra`: nothing more, nothing less. */
const expected = (extra: Record<string, string>) => ({
  ...SECURITY,
  "x-request-id": expect.stringMatching(UUID),
  ...extra,
});

const tmp = mkdtempSync(join(tmpdir(), "bun-fleet-headers-"));
const app = createApp(fakeWorker());
app.get("/test/boom", () => {
  throw new Error("boom");
});
app.get("/test/down", () => {
  throw new DatabaseUnavailable("database down (test)", 1);
});
app.get("/test/id", (c) => c.text(requestId(c)));
// A handler that logs its id and builds its own Response: the response still carries that id.
app.get("/test/raw-id", (c) => new Response(requestId(c)));
// Handlers that build their own Response (a stream, a proxied fetch): hono/secure-headers sets
// its headers on it afterwards, overwriting, and removes X-Powered-By.
app.get("/test/raw", () => new Response("raw"));
app.get(
  "/test/raw-own",
  () =>
    new Response("raw", {
      headers: { "x-frame-options": "DENY", "x-content-type-options": "x", "x-powered-by": "y" },
    }),
);

beforeAll(async () => {
  const target = parseDatabaseUrl(`sqlite://${join(tmp, "headers.db")}`) as Target;
  await migrate(target);
  await openDb(target, { max: 1, applicationName: "headers test" });
  const res = await app.request("/api/todos", {
    method: "POST",
    headers: { "content-type": JSON_TYPE },
    body: JSON.stringify({ title: "one" }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await closeDb(Date.now() + 1000);
  rmSync(tmp, { recursive: true, force: true });
});

describe("template app: the exact response headers", () => {
  const post = (body: string) =>
    app.request("/api/todos", { method: "POST", headers: { "content-type": JSON_TYPE }, body });

  test("GET /api/todos/:id (200 and 404), POST (201), /hello, an unknown route", async () => {
    const cases: [Response | Promise<Response>, number, string][] = [
      [app.request("/api/todos/1"), 200, JSON_TYPE],
      [app.request("/api/todos/999"), 404, JSON_TYPE],
      [post(JSON.stringify({ title: "two" })), 201, JSON_TYPE],
      // c.text with nothing else set: Bun adds its text/plain type when it sends the body.
      [app.request("/hello"), 200, ""],
      [app.request("/nope"), 404, JSON_TYPE],
    ];
    for (const [pending, status, type] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect(headersOf(res)).toEqual(expected(type ? { "content-type": type } : {}));
    }
  });

  test("errors: 422, malformed JSON 400, a thrown error 500, a refusal 503 with Retry-After", async () => {
    const invalid = await post(JSON.stringify({ title: "" }));
    expect(invalid.status).toBe(422);
    expect(headersOf(invalid)).toEqual(expected({ "content-type": JSON_TYPE }));
    const malformed = await post("{");
    expect(malformed.status).toBe(400);
    expect(headersOf(malformed)).toEqual(expected({ "content-type": JSON_TYPE }));
    const original = console.error;
    console.error = () => {};
    try {
      const boom = await app.request("/test/boom");
      expect(boom.status).toBe(500);
      expect(headersOf(boom)).toEqual(expected({ "content-type": JSON_TYPE }));
      expect(((await boom.json()) as { requestId: string }).requestId).toBe(
        boom.headers.get("x-request-id") as string,
      );
    } finally {
      console.error = original;
    }
    const down = await app.request("/test/down");
    expect(down.status).toBe(503);
    expect(headersOf(down)).toEqual(expected({ "content-type": JSON_TYPE, "retry-after": "1" }));
  });

  test("a static file has them too", async () => {
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual(expected({ "content-type": "text/html; charset=utf-8" }));
  });

  test("a Response a handler built itself gets them too, overwritten, and no X-Powered-By", async () => {
    const raw = await app.request("/test/raw");
    expect(headersOf(raw)).toEqual(expected({}));
    const own = await app.request("/test/raw-own");
    expect(headersOf(own)).toEqual(expected({}));
    const controller = new AbortController();
    const stream = await app.request("/events?room=a", { signal: controller.signal });
    controller.abort();
    await stream.body?.cancel().catch(() => {});
    expect(headersOf(stream)).toEqual(
      expected({
        "cache-control": "no-cache",
        "content-type": "text/event-stream; charset=utf-8",
      }),
    );
  });

  test("X-Request-Id: a valid one from a trusted proxy is kept (and is requestId(c)), any other replaced", async () => {
    const long = "a".repeat(255);
    const trusted = (id: string) => ({ "x-request-id": id, "x-test-trusted": "1" });
    for (const sent of ["abc-DEF_1=", long, "0"]) {
      // From a client that is not a trusted proxy: a fresh id.
      const untrusted = await app.request("/test/id", { headers: { "x-request-id": sent } });
      const fresh = untrusted.headers.get("x-request-id") as string;
      expect(fresh).toMatch(UUID);
      expect(await untrusted.text()).toBe(fresh);
      const res = await app.request("/test/id", { headers: trusted(sent) });
      expect(res.headers.get("x-request-id")).toBe(sent);
      expect(await res.text()).toBe(sent);
      const read = await app.request("/api/todos/1", { headers: trusted(sent) });
      expect(headersOf(read)).toEqual({
        ...SECURITY,
        "content-type": JSON_TYPE,
        "x-request-id": sent,
      });
    }
    for (const sent of ["", "bad id", "a".repeat(256), "é", "a.b", "a/b", "a;b"]) {
      const res = await app.request("/test/id", { headers: trusted(sent) });
      const id = res.headers.get("x-request-id") as string;
      expect(id).toMatch(UUID);
      expect(await res.text()).toBe(id);
    }
    for (const headers of [{}, trusted("from-the-proxy")]) {
      const raw = await app.request("/test/raw-id", { headers });
      expect(raw.headers.get("x-request-id")).toBe(await raw.text());
    }
    expect(
      (await app.request("/test/raw-id", { headers: trusted("p-1") })).headers.get("x-request-id"),
    ).toBe("p-1");
    const one = (await app.request("/hello")).headers.get("x-request-id");
    const two = (await app.request("/hello")).headers.get("x-request-id");
    expect(one).not.toBe(two);
  });
});
