import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT, startReadyFleet, TOKEN, waitFor } from "../helpers/fleet.ts";

/**
 * A black-box fuzzer's cases against a real fleet serving the template app: request targets that
 * cannot name a file, every dot-dot encoding, %-garbage and bytes that are not UTF-8, on every
 * method. Sent on raw sockets, since fetch() would normalize or re-encode most of them.
 */

const long = (n: number) => "a".repeat(n);

/** Request targets as raw bytes (latin1: one byte per character). */
const TARGETS: string[] = [
  // NUL, encoded, in every place
  "/%00",
  "/a%00b.html",
  "/index.html%00.png",
  "/%00/%00/%00",
  "/x/%00",
  "/%2500",
  "/%25%00",
  // over-long segments and paths
  `/x/${long(5000)}`,
  `/${long(256)}`,
  `/${long(300)}.html`,
  `/${`${long(200)}/`.repeat(30)}`,
  `/x/${"%41".repeat(3000)}`,
  `/${long(4000)}/${long(4000)}`,
  // hundreds of segments
  "/a".repeat(600),
  `${"/".repeat(300)}x`,
  "/..".repeat(200),
  `${"/.".repeat(400)}/index.html`,
  // %-garbage
  "/%",
  "/%zz",
  "/%%%",
  "/a%2",
  "/%e0%80",
  "/%c0",
  "/%ff%fe%fd",
  "/%u0041",
  "/%F0%9F%98",
  `/?${"%zz&".repeat(500)}`,
  `/hello?%00=${long(6000)}`,
  // dot-dot in every encoding
  "/../../../../etc/passwd",
  "/..%2f..%2f..%2fetc%2fpasswd",
  "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
  "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
  "/..%5c..%5c..%5cetc%5cpasswd",
  "/..\\..\\..\\etc\\passwd",
  "/%252e%252e/%252e%252e/etc/passwd",
  "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
  "/%e0%80%ae%e0%80%ae/etc/passwd",
  "/.%2e/.%2e/etc/passwd",
  "/%2e./%2e./etc/passwd",
  "/....//....//etc/passwd",
  "/%uff0e%uff0e/etc/passwd",
  "/\xef\xbc\x8e\xef\xbc\x8e/etc/passwd",
  "/static/..;/..;/etc/passwd",
  "/chat/../../../etc/passwd",
  "/api/%2e%2e/%2e%2e/package.json",
  // bytes that are not UTF-8
  "/\xff\xfe",
  "/\xc0\xae\xc0\xae/etc/passwd",
  "/\x80\x81\x82",
  "/a\xe2\x28\xa1.html",
  "/\xed\xa0\x80",
  // the fleet's own paths
  "/admin/%00",
  `/admin/${long(5000)}`,
  "/admin/assets/%00",
  "/admin/assets/..%2f..%2fpackage.json",
  `/admin/assets/${long(5000)}`,
  "/metrics%00",
  "/admin/history?since=%00",
  `/admin/history?since=${"9".repeat(5000)}`,
  // Bun resolves %2e%2e as ".." (the WHATWG URL rules): this one is GET /admin/status. (The
  // fuzzer sends the token, so no target here may resolve to /admin/stop, /admin/reload, …)
  "/admin/assets/%2e%2e/status",
  "/healthz/..",
];

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"];

interface Answer {
  status: number | null;
  body: string;
}

/** One raw HTTP/1.1 request; the status (null: the server closed without one) and the body. */
function raw(port: number, method: string, target: string): Promise<Answer> {
  const body = ["POST", "PUT", "PATCH"].includes(method) ? "{}" : "";
  const head =
    `${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n` +
    `authorization: Bearer ${TOKEN}\r\nconnection: close\r\n` +
    (body ? `content-type: application/json\r\ncontent-length: ${body.length}\r\n` : "") +
    "\r\n";
  const bytes = Buffer.from(head + body, "latin1");
  const { promise, resolve, reject } = Promise.withResolvers<Answer>();
  const chunks: Buffer[] = [];
  const done = () => {
    const text = Buffer.concat(chunks).toString("latin1");
    const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
    resolve({ status: status ? Number(status[1]) : null, body: text });
  };
  const timer = setTimeout(() => reject(new Error(`${method} ${target}: no answer in 5 s`)), 5000);
  Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open: (socket) => void socket.write(bytes),
      data: (_socket, data) => void chunks.push(Buffer.from(data)),
      close: () => {
        clearTimeout(timer);
        done();
      },
      error: (_socket, error) => reject(error),
    },
  }).catch(reject);
  return promise;
}

describe("hostile input", () => {
  test("fuzzed request targets on every method: no 5xx, no file outside the public folder, no log line over 8 KiB", async () => {
    // The template's app, named: its static files (app/static.ts) are what this holds.
    const fleet = await startReadyFleet({
      env: {
        APP_MODULE: join(ROOT, "app", "index.ts"),
        ACCESS_LOG: "1",
        LOG_LEVEL: "debug",
        LOG_FORMAT: "json",
      },
    });
    const failures: string[] = [];
    const statuses = new Map<number | null, number>();
    const cases = METHODS.flatMap((method) => TARGETS.map((target) => [method, target] as const));
    // A few at a time: the whole set takes about a second.
    for (let i = 0; i < cases.length; i += 8) {
      const batch = cases.slice(i, i + 8);
      const answers = await Promise.all(batch.map(([m, t]) => raw(fleet.port, m, t)));
      answers.forEach(({ status, body }, k) => {
        const [method, target] = batch[k] as readonly [string, string];
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const shown = `${method} ${JSON.stringify(target.slice(0, 80))}${target.length > 80 ? "…" : ""}`;
        if (status === null || status >= 500) failures.push(`${shown} -> ${status}`);
        if (body.includes("root:x:0:0")) failures.push(`${shown} served /etc/passwd`);
        if (body.includes('"name": "bun-fleet"')) failures.push(`${shown} served package.json`);
      });
    }
    expect(failures).toEqual([]);
    // What the fuzzer saw (404s mostly; 400s from Bun's parser for bytes it refuses).
    expect([...statuses.keys()].every((s) => s !== null && s < 500)).toBe(true);
    // The fleet still serves, and every line it wrote is one JSON object of at most 8 KiB.
    expect((await fetch(fleet.url("/healthz"))).status).toBe(200);
    await waitFor("the access lines", () => fleet.stdout().includes(`"path":"/x/${long(1000)}`));
    const lines = `${fleet.stdout()}${fleet.stderr()}`.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(TARGETS.length);
    const tooLong = lines.filter((line) => Buffer.byteLength(line) > 8192);
    expect(tooLong.map((line) => line.slice(0, 200))).toEqual([]);
    const notJson = lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson.map((line) => line.slice(0, 200))).toEqual([]);
    // Paths that cannot name a file are not found, logged at debug level only.
    const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(records.filter((r) => r.level >= 40).map((r) => r.msg.slice(0, 200))).toEqual([]);
    expect(records.some((r) => r.level === 20 && r.msg.startsWith("static: not a file name"))).toBe(
      true,
    );
    // A request target is logged up to 1 KiB, then an ellipsis.
    const paths = lines.map((line) => (JSON.parse(line) as { path?: string }).path ?? "");
    expect(Math.max(...paths.map((p) => p.length))).toBeLessThanOrEqual(1025);
    expect(paths).toContain(`/x/${long(1021)}…`);
  }, 30_000);
});
