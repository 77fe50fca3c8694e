import { describe, expect, test } from "bun:test";
import { PROJECT_APP, startReadyFleet } from "../helpers/fleet.ts";
import { parseRaw, rawRequest } from "../helpers/raw-http.ts";

/**
 * MAX_BODY_BYTES against every way HTTP/1.1 can frame a body, sent byte for byte to a real fleet
 * serving the template app: no framing gets a body over the limit to a route that reads it.
 */

const LIMIT = 100;

/** A request whose body is framed by `framing` (the headers between Host and Connection). */
function framed(path: string, framing: (body: string) => string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing(body)}`;
}

const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
const FRAMINGS: Record<string, (body: string) => string> = {
  "one Content-Length": (b) => `Content-Length: ${b.length}\r\nConnection: close\r\n\r\n${b}`,
  "Content-Length twice, equal": (b) =>
    `Content-Length: ${b.length}\r\nContent-Length: ${b.length}\r\nConnection: close\r\n\r\n${b}`,
  "Content-Length three times, equal": (b) =>
    `${`Content-Length: ${b.length}\r\n`.repeat(3)}Connection: close\r\n\r\n${b}`,
  'one Content-Length folded as "N, N"': (b) =>
    `Content-Length: ${b.length}, ${b.length}\r\nConnection: close\r\n\r\n${b}`,
  "chunked, no length": (b) => {
    const half = b.length >> 1;
    return `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk(b.slice(0, half))}${chunk(b.slice(half))}0\r\n\r\n`;
  },
};

describe("MAX_BODY_BYTES however the body is framed", () => {
  test("a body over the limit is 413 JSON (or Bun's 400), never 2xx, and nothing is stored", async () => {
    const fleet = await startReadyFleet({
      env: { ...PROJECT_APP, WORKERS: "1", MAX_BODY_BYTES: String(LIMIT) },
    });
    const over = JSON.stringify({ title: "x".repeat(LIMIT) }); // valid JSON, a valid title
    const within = JSON.stringify({ title: "ok" });
    const answers: Record<string, number> = {};
    for (const [name, framing] of Object.entries(FRAMINGS)) {
      for (const path of ["/api/todos", "/api/echo"]) {
        const res = parseRaw(await rawRequest(fleet.port, framed(path, framing, over)));
        answers[`${name} ${path}`] = res.status;
        expect([413, 400]).toContain(res.status);
        if (res.status === 413) {
          expect(JSON.parse(res.body)).toEqual({ error: "Payload Too Large", limit: LIMIT });
        }
      }
    }
    // Every framing Bun accepts still reaches the app when the body is within the limit.
    const stored: Record<string, number> = {};
    for (const [name, framing] of Object.entries(FRAMINGS)) {
      stored[name] = parseRaw(
        await rawRequest(fleet.port, framed("/api/todos", framing, within)),
      ).status;
    }
    expect(stored).toEqual({
      "one Content-Length": 201,
      "Content-Length twice, equal": 201,
      "Content-Length three times, equal": 201,
      'one Content-Length folded as "N, N"': 400, // Bun refuses it before the app
      "chunked, no length": 201,
    });
    const list = (await (await fetch(fleet.url("/api/todos?limit=100"))).json()) as {
      items: { title: string }[];
    };
    expect(list.items.map((t) => t.title)).toEqual(["ok", "ok", "ok", "ok"]);
  });
});
