import { describe, expect, test } from "bun:test";
import { bunBodyBackstop, limitBody } from "../../workers/child/http/body-limit.ts";

const url = "http://x/";

/** A request whose body arrives in chunks, without a Content-Length (as chunked encoding). */
function chunked(parts: string[]): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
      controller.close();
    },
  });
  return new Request(url, { method: "POST", body, duplex: "half" } as RequestInit);
}

describe("MAX_BODY_BYTES", () => {
  test("a declared length over the limit is a 413 JSON that closes the connection", async () => {
    const request = new Request(url, { method: "POST", headers: { "content-length": "11" } });
    const res = limitBody(request, 10) as Response;
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect(await res.json()).toEqual({ error: "Payload Too Large", limit: 10 });
  });

  test("a declared length at the limit passes the request through untouched", () => {
    const request = new Request(url, {
      method: "PUT",
      headers: { "content-length": "10" },
      body: "x".repeat(10),
    });
    expect(limitBody(request, 10)).toBe(request);
  });

  test('Content-Length sent twice (Bun joins it as "N, N") over the limit is a 413', () => {
    const request = new Request(url, { method: "POST", headers: { "content-length": "11, 11" } });
    expect((limitBody(request, 10) as Response).status).toBe(413);
  });

  test("Content-Length sent twice within the limit: the body is counted as it is read", async () => {
    const request = new Request(url, {
      method: "POST",
      headers: { "content-length": "10, 10" },
      body: "x".repeat(10),
    });
    expect(await ((await limitBody(request, 10)) as Request).text()).toBe("x".repeat(10));
    const lying = new Request(url, {
      method: "POST",
      headers: { "content-length": "5, 5" },
      body: "x".repeat(11),
    });
    expect(((await limitBody(lying, 10)) as Response).status).toBe(413);
  });

  test("GET and HEAD are not checked: reading a header would cost every GET", () => {
    const request = new Request(url, { headers: { "content-length": "99" } });
    expect(limitBody(request, 10)).toBe(request);
  });

  test("a chunked body is read up to the limit: over is 413, within is handed on buffered", async () => {
    const over = (await limitBody(chunked(["123456", "78901"]), 10)) as Response;
    expect(over.status).toBe(413);
    const within = (await limitBody(chunked(["12345", "67890"]), 10)) as Request;
    expect(within).toBeInstanceOf(Request);
    expect(within.method).toBe("POST");
    expect(await within.text()).toBe("1234567890");
  });

  test("Bun's own cap stays above the limit (its 413 has no body)", () => {
    expect(bunBodyBackstop(1024)).toBe(128 * 1024 * 1024);
    expect(bunBodyBackstop(2 ** 30)).toBe(2 ** 30);
  });
});
