import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NO_EXTRAS, startFleet, startReadyFleet, within } from "../helpers/fleet.ts";

let dir = "";
const cert = () => join(dir, "cert.pem");
const key = () => join(dir, "key.pem");

/** A self-signed localhost certificate and its key, made with openssl. */
function makeCertificate(keyFile: string, certFile: string): void {
  const made = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fleet-tls-"));
  makeCertificate(key(), cert());
  makeCertificate(join(dir, "other-key.pem"), join(dir, "other-cert.pem"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A raw HTTP/1.1 request on a plain TCP socket: what the server sends back before closing. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    socket.on("error", () => resolve(answer));
    socket.on("close", () => resolve(answer));
    socket.setTimeout(3000, () => socket.destroy());
  });
}

describe("TLS", () => {
  test("TLS_CERT_FILE + TLS_KEY_FILE serve HTTPS; the banner says https://; plain HTTP is not served", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, TLS_CERT_FILE: cert(), TLS_KEY_FILE: key() },
    });
    expect(fleet.stdout()).toContain(`serving https://127.0.0.1:${fleet.port}`);
    const ca = await Bun.file(cert()).text();
    const res = await fetch(`https://localhost:${fleet.port}/healthz`, { tls: { ca } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    const plain = await rawHttp(fleet.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(plain).not.toContain("HTTP/1.1 200");
    expect(plain).not.toContain('"status"');
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test.each([
    [
      "only the certificate",
      () => ({ TLS_CERT_FILE: cert() }),
      "TLS_CERT_FILE is set but TLS_KEY_FILE is not",
    ],
    [
      "only the key",
      () => ({ TLS_KEY_FILE: key() }),
      "TLS_KEY_FILE is set but TLS_CERT_FILE is not",
    ],
    [
      "a missing certificate",
      () => ({ TLS_CERT_FILE: join(dir, "nope.pem"), TLS_KEY_FILE: key() }),
      "TLS_CERT_FILE: cannot read",
    ],
    [
      "an unreadable key (a directory)",
      () => {
        mkdirSync(join(dir, "key-dir"), { recursive: true });
        return { TLS_CERT_FILE: cert(), TLS_KEY_FILE: join(dir, "key-dir") };
      },
      "TLS_KEY_FILE: cannot read",
    ],
    [
      "a certificate that is not PEM",
      () => {
        writeFileSync(join(dir, "junk.pem"), "not a certificate\n");
        return { TLS_CERT_FILE: join(dir, "junk.pem"), TLS_KEY_FILE: key() };
      },
      "is not a PEM certificate",
    ],
    [
      "a key of another certificate",
      () => ({ TLS_CERT_FILE: cert(), TLS_KEY_FILE: join(dir, "other-key.pem") }),
      "is not the key of the certificate in TLS_CERT_FILE",
    ],
    [
      "a key that is not PEM (the certificate given twice)",
      () => ({ TLS_CERT_FILE: cert(), TLS_KEY_FILE: cert() }),
      "is not a PEM private key",
    ],
  ])("%s: exit 2 naming the setting, no worker started", async (_name, env, message) => {
    const fleet = await startFleet({ env: { ...NO_EXTRAS, ...env() } });
    expect(await fleet.exited).toBe(2);
    expect(fleet.stderr()).toContain("invalid configuration: ");
    expect(fleet.stderr()).toContain(message);
    expect(fleet.stderr()).not.toContain("[worker");
  });
});

describe("MAX_BODY_BYTES", () => {
  const post = (url: string, body: Uint8Array) => fetch(url, { method: "POST", body });

  test("default 1 MiB: one byte more is 413 JSON before the app reads it, also on fleet routes", async () => {
    const fleet = await startReadyFleet({ env: { ...NO_EXTRAS, WORKERS: "1" } });
    const limit = 1024 * 1024;
    for (const path of ["/api/echo", "/admin/stop"]) {
      const res = await post(fleet.url(path), new Uint8Array(limit + 1));
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ error: "Payload Too Large", limit });
    }
    // At the limit the app reads it (the echo route's own 16 KiB limit answers).
    const atLimit = await post(fleet.url("/api/echo"), new Uint8Array(limit));
    expect(atLimit.status).toBe(413);
    expect(await atLimit.json()).toEqual({ error: "Payload Too Large", limit: 16 * 1024 });
    expect((await fetch(fleet.url("/healthz"))).status).toBe(200);
  });

  test("a chunked body over the limit gets the same 413 JSON; one within it reaches the app", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, WORKERS: "1", MAX_BODY_BYTES: "100" },
    });
    const chunked = (parts: string[]) =>
      rawHttp(
        fleet.port,
        `POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${parts
          .map((p) => `${p.length.toString(16)}\r\n${p}\r\n`)
          .join("")}0\r\n\r\n`,
      );
    const big = await chunked(['{"message":"', "x".repeat(60), "y".repeat(60), '"}']);
    expect(big).toStartWith("HTTP/1.1 413");
    expect(big).toContain('{"error":"Payload Too Large","limit":100}');
    const small = await chunked(['{"message":', '"hi"}']);
    expect(small).toStartWith("HTTP/1.1 200");
    expect(small).toContain('{"echo":["hi"]}');
  });

  test("raised: MAX_BODY_BYTES=4194304 lets 2 MiB through and refuses 4 MiB + 1", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, WORKERS: "1", MAX_BODY_BYTES: "4194304" },
    });
    // /nothing is the app's 404: reaching it proves the body was not refused.
    const through = await post(fleet.url("/nothing"), new Uint8Array(2 * 1024 * 1024));
    expect(through.status).toBe(404);
    const over = await post(fleet.url("/nothing"), new Uint8Array(4 * 1024 * 1024 + 1));
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({ error: "Payload Too Large", limit: 4 * 1024 * 1024 });
  });
});

describe("IDLE_TIMEOUT_S", () => {
  /** Opens a keep-alive connection, makes one request, and resolves when the server closes it. */
  function idleConnection(port: number): { closed: Promise<number> } {
    const opened = performance.now();
    const closed = new Promise<number>((resolve) => {
      const socket = connect(port, "127.0.0.1", () =>
        socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      socket.on("data", () => {});
      socket.on("error", () => {});
      socket.on("close", () => resolve(performance.now() - opened));
    });
    return { closed };
  }

  test("IDLE_TIMEOUT_S=1 closes an idle keep-alive connection (Bun's 4 s tick); the default 10 keeps it", async () => {
    const env = { ...NO_EXTRAS, WORKERS: "1" };
    const [short, standard] = await Promise.all([
      startReadyFleet({ env: { ...env, IDLE_TIMEOUT_S: "1" } }),
      startReadyFleet({ env }),
    ]);
    const kept = idleConnection(standard.port);
    const ms = await idleConnection(short.port).closed;
    expect(ms).toBeLessThan(within(6000, 10_000)); // the other fleet keeps it 10 s
    const stillOpen = await Promise.race([
      kept.closed.then(() => false),
      Bun.sleep(50).then(() => true),
    ]);
    expect(stillOpen).toBe(true);
  });
});
