import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, NO_EXTRAS, startReadyFleet, TOKEN } from "../helpers/fleet.ts";
import { parseRaw, rawRequest } from "../helpers/raw-http.ts";

const APP = { APP_MODULE: join(FIXTURES, "host-app.ts"), ...NO_EXTRAS };

describe("requests without a Host header", () => {
  test("HTTP/1.0 without Host is served on fleet routes and app routes alike", async () => {
    const fleet = await startReadyFleet({ env: APP });
    const get = async (path: string, headers = "") =>
      parseRaw(await rawRequest(fleet.port, `GET ${path} HTTP/1.0\r\n${headers}\r\n`));

    // HAProxy's default `option httpchk GET /readyz` sends exactly this.
    const ready = await get("/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: "ready" });
    expect((await get("/healthz")).status).toBe(200);
    const hello = await get("/hello");
    expect(hello.status).toBe(200);
    expect(hello.body).toBe("hello\n");
    // The app sees an absolute URL with the fleet's own address as its authority.
    const url = await get("/url?q=1");
    expect(url.status).toBe(200);
    expect(JSON.parse(url.body)).toEqual({
      url: `http://127.0.0.1:${fleet.port}/url?q=1`,
      path: "/url",
      query: "1",
    });
    // Token-checked fleet routes and request bodies work too.
    expect((await get("/admin/status", `Authorization: Bearer ${TOKEN}\r\n`)).status).toBe(200);
    expect((await get("/admin/status")).status).toBe(401);
    const echo = parseRaw(
      await rawRequest(fleet.port, "POST /echo HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"),
    );
    expect(echo.status).toBe(200);
    expect(echo.body).toBe("hello");
    expect((await get("/missing")).status).toBe(404);
  });

  test("HTTP/1.1: no Host is 400 (RFC 9112), an empty Host is served, a Host is kept", async () => {
    const fleet = await startReadyFleet({ env: { ...APP, WORKERS: "1" } });
    const send = async (text: string) => parseRaw(await rawRequest(fleet.port, text));
    const close = "Connection: close\r\n";

    expect((await send(`GET /hello HTTP/1.1\r\n${close}\r\n`)).status).toBe(400);
    expect((await send(`GET /readyz HTTP/1.1\r\n${close}\r\n`)).status).toBe(400);
    const empty = await send(`GET /hello HTTP/1.1\r\nHost: \r\n${close}\r\n`);
    expect(empty.status).toBe(200);
    expect(empty.body).toBe("hello\n");
    const named = await send(`GET /url HTTP/1.1\r\nHost: example.test:8080\r\n${close}\r\n`);
    expect(JSON.parse(named.body).url).toBe("http://example.test:8080/url");
  });
});
