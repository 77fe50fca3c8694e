import { describe, expect, test } from "bun:test";
import { createApp } from "../../app/index.ts";
import { ECHO_BODY_LIMIT } from "../../app/routes/echo.ts";
import { fakeWorker } from "../helpers/worker.ts";

const worker = fakeWorker({ index: 3, pid: 4242, context: { shard: "c" } });

const post = (body: string, headers: Record<string, string> = {}) =>
  createApp(worker).request("/api/echo", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

describe("template app: POST /api/echo (app/routes/echo.ts)", () => {
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
});
