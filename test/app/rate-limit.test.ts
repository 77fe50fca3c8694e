import { describe, expect, test } from "bun:test";
import { createApp } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

const limited = (limit: number) =>
  createApp(fakeWorker({ config: { RATE_LIMIT_PER_MINUTE: limit } }));

/** POST /api/echo (no database needed) from `client`. */
const echo = (app: ReturnType<typeof limited>, client: string) =>
  app.request("/api/echo", {
    method: "POST",
    headers: { "x-test-client": client, "content-type": "application/json" },
    body: JSON.stringify({ message: "hi" }),
  });

describe("template app: RATE_LIMIT_PER_MINUTE", () => {
  test("off (0, the default): no limit and no rate-limit headers", async () => {
    const app = limited(0);
    for (let i = 0; i < 5; i++) {
      const res = await echo(app, "1.2.3.4");
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit")).toBeNull();
    }
  });

  test("/api/* answers `limit` requests per client, then 429 JSON with Retry-After and the IETF headers, which show from the last tenth of the budget on", async () => {
    const app = limited(20);
    const seen: (string | null)[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await echo(app, "1.2.3.4");
      expect(res.status).toBe(200);
      seen.push(res.headers.get("ratelimit"));
    }
    expect(seen.slice(0, 17)).toEqual(Array(17).fill(null));
    expect(seen.slice(17).map((h) => /remaining=(\d+)/.exec(h ?? "")?.[1])).toEqual([
      "2",
      "1",
      "0",
    ]);
    const refused = await echo(app, "1.2.3.4");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toStartWith("application/json");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get("ratelimit-policy")).toBe("20;w=60");
    expect(refused.headers.get("ratelimit")).toMatch(/^limit=20, remaining=0, reset=\d+$/);
    expect(await refused.json()).toEqual({
      error: "Too Many Requests",
      limit: 20,
      retryAfterS: retryAfter,
    });
  });

  test("each client address has its own budget, and routes outside /api/ are never limited", async () => {
    const app = limited(1);
    expect((await echo(app, "1.2.3.4")).status).toBe(200);
    expect((await echo(app, "1.2.3.4")).status).toBe(429);
    expect((await echo(app, "2001:db8::1")).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const hello = await app.request("/hello", { headers: { "x-test-client": "1.2.3.4" } });
      expect(hello.status).toBe(200);
    }
  });

  test("when the fleet's counter does not answer, the request goes through", async () => {
    const app = createApp(
      fakeWorker({ config: { RATE_LIMIT_PER_MINUTE: 1 }, consume: async () => null }),
    );
    for (let i = 0; i < 3; i++) {
      expect((await echo(app, "1.2.3.4")).status).toBe(200);
    }
  });
});
