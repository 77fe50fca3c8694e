import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { canNameFile, staticFiles } from "../../app/static.ts";

function app() {
  const root = mkdtempSync(join(tmpdir(), "static-"));
  writeFileSync(join(root, "index.html"), "<h1>home</h1>");
  mkdirSync(join(root, "docs"));
  writeFileSync(join(root, "docs", "index.html"), "<h1>docs</h1>");
  writeFileSync(join(root, "a.txt"), "text");
  const rejected: string[] = [];
  const hono = new Hono();
  hono.use("/*", staticFiles({ root, onRejected: (path) => rejected.push(path) }));
  hono.notFound((c) => c.json({ error: "Not Found" }, 404));
  hono.onError((_error, c) => c.json({ error: "Internal Server Error" }, 500));
  return { hono, rejected };
}

describe("template static files", () => {
  test("serves files and directory indexes from its root", async () => {
    const { hono } = app();
    expect(await (await hono.request("/")).text()).toBe("<h1>home</h1>");
    expect(await (await hono.request("/docs/")).text()).toBe("<h1>docs</h1>");
    const txt = await hono.request("/a.txt");
    expect(txt.headers.get("content-type")).toStartWith("text/plain");
    expect((await hono.request("/missing.txt")).status).toBe(404);
  });

  test("a path that cannot name a file is not found (404 JSON), never a 500", async () => {
    const { hono, rejected } = app();
    const long = "a".repeat(5000);
    for (const path of [
      "/%00",
      "/a.txt%00.png",
      `/x/${long}`,
      `/${"b".repeat(256)}`,
      `/${`${"c".repeat(200)}/`.repeat(25)}x`,
      "/%2e%2e/%2e%2e/etc/passwd",
      "/..%2f..%2fetc%2fpasswd",
    ]) {
      const res = await hono.request(path);
      expect({ path: path.slice(0, 40), status: res.status }).toEqual({
        path: path.slice(0, 40),
        status: 404,
      });
      expect(await res.json()).toEqual({ error: "Not Found" });
    }
    expect(rejected.length).toBe(5);
    expect(Math.max(...rejected.map((p) => p.length))).toBeLessThanOrEqual(201);
  });

  test("canNameFile: NUL, a name over 255 bytes or a path over 4 KiB cannot", () => {
    expect(canNameFile("/srv/public/index.html")).toBe(true);
    expect(canNameFile(`/srv/${"é".repeat(127)}`)).toBe(true); // 254 bytes
    expect(canNameFile(`/srv/${"é".repeat(128)}`)).toBe(false); // 256 bytes
    expect(canNameFile("/srv/a\0b")).toBe(false);
    expect(canNameFile(`/srv/${"a/".repeat(2048)}`)).toBe(false);
  });
});
