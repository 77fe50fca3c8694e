/**
 * The real client address behind a balancer: Debian's HAProxy running the shipped config (which
 * appends X-Forwarded-For) on 127.0.0.1, a fleet on 127.0.0.3 trusting 127.0.0.1 only, and
 * clients connecting from 127.0.0.5 that write made-up X-Forwarded-For and Forwarded headers.
 */
import { describe, expect, test } from "bun:test";
import net from "node:net";
import { join } from "node:path";
import { FIXTURES, NO_EXTRAS, startReadyFleet, waitFor } from "../helpers/fleet.ts";
import { HAPROXY, startHaproxy } from "../helpers/haproxy.ts";
import { parseRaw } from "../helpers/raw-http.ts";

if (!HAPROXY) console.warn("skipping client-address tests: haproxy is not installed");

const CLIENT = "127.0.0.5";
const SPOOFED = "X-Forwarded-For: 6.6.6.6\r\nForwarded: for=7.7.7.7\r\n";

/** GET /who from CLIENT's address, with `headers`; the body the app answered. */
function who(host: string, port: number, headers = ""): Promise<string> {
  return send(host, port, `GET /who HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);
}

/** GET /trusted from CLIENT's address: whether the app sees a trusted proxy ("true"/"false"). */
function trusted(host: string, port: number): Promise<string> {
  return send(host, port, "GET /trusted HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

/** `request`, written raw from CLIENT's address; the body of a 200. */
function send(host: string, port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress: CLIENT });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer in 5 s"));
    }, 5000);
    let raw = "";
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk) => {
      raw += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      const { status, body } = parseRaw(raw);
      if (status === 200) resolve(body.trim());
      else reject(new Error(`status ${status}: ${raw}`));
    });
  });
}

describe.skipIf(!HAPROXY)("TRUSTED_PROXIES", () => {
  test("through the shipped HAProxy the app and the access log see the client, and headers the client made up change nothing", async () => {
    const fleet = await startReadyFleet({
      env: {
        ...NO_EXTRAS,
        APP_MODULE: join(FIXTURES, "client-app.ts"),
        HOST: "127.0.0.3",
        TRUSTED_PROXIES: "127.0.0.1/32",
        ACCESS_LOG: "1",
      },
    });
    const lb = await startHaproxy([`127.0.0.3:${fleet.port}`]);
    await waitFor("haproxy to see the fleet up", async () => {
      return (await who("127.0.0.1", lb.port).catch(() => "")) === CLIENT;
    });

    // Through the trusted balancer: its own X-Forwarded-For hop wins over what the client wrote.
    expect(await who("127.0.0.1", lb.port, SPOOFED)).toBe(CLIENT);
    // Straight to the fleet from an untrusted peer: the headers are not read at all.
    expect(await who("127.0.0.3", fleet.port, SPOOFED)).toBe(CLIENT);
    // worker.fromTrustedProxy: true through the balancer, false straight from the client.
    expect(await trusted("127.0.0.1", lb.port)).toBe("true");
    expect(await trusted("127.0.0.3", fleet.port)).toBe("false");
    await waitFor("access lines naming the client", () => fleet.stdout().includes(`GET /who 200`));
    const lines = fleet
      .stdout()
      .split("\n")
      .filter((l) => l.includes("GET /who 200"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toContain(`client=${CLIENT}`);
    expect(fleet.stdout()).not.toContain("6.6.6.6");
    expect(fleet.stdout()).not.toContain("7.7.7.7");
  });

  test("a chunked body, read ahead by the body limit, keeps its client's address", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, APP_MODULE: join(FIXTURES, "client-app.ts"), HOST: "127.0.0.3" },
    });
    const chunked =
      "POST /who HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      "5\r\nhello\r\n0\r\n\r\n";
    expect(await send("127.0.0.3", fleet.port, chunked)).toBe(CLIENT);
  });

  test("without TRUSTED_PROXIES the balancer itself is the client", async () => {
    const fleet = await startReadyFleet({
      env: { ...NO_EXTRAS, APP_MODULE: join(FIXTURES, "client-app.ts"), HOST: "127.0.0.3" },
    });
    const lb = await startHaproxy([`127.0.0.3:${fleet.port}`]);
    await waitFor("haproxy to see the fleet up", async () => {
      return (await who("127.0.0.1", lb.port).catch(() => "")) !== "";
    });
    expect(await who("127.0.0.1", lb.port, SPOOFED)).toBe("127.0.0.1");
    expect(await trusted("127.0.0.1", lb.port)).toBe("false");
  });

  test("a TRUSTED_PROXIES entry that is not a CIDR stops the start with exit 2 naming it", async () => {
    const { startFleet } = await import("../helpers/fleet.ts");
    const fleet = await startFleet({ env: { TRUSTED_PROXIES: "10.0.0.0/8, 10.0.0.0/33" } });
    expect(await fleet.exited).toBe(2);
    expect(fleet.stderr()).toContain(
      'TRUSTED_PROXIES="10.0.0.0/8, 10.0.0.0/33": "10.0.0.0/33" is not a CIDR',
    );
  });
});
