import { expect, test } from "bun:test";
import net from "node:net";
import { PROJECT_APP, startReadyFleet, waitFor } from "../helpers/fleet.ts";
import { parseRaw } from "../helpers/raw-http.ts";

/**
 * X-Request-Id on the template app served by a real fleet: an id sent by a trusted proxy
 * (TRUSTED_PROXIES) is kept, in the response and the access log; one a client made up is
 * replaced by a fresh UUID. The fleet listens on 127.0.0.3 and trusts 127.0.0.1 only; the
 * "proxy" and the client are sockets bound to those addresses (test/fleet/client-address.test.ts
 * puts Debian's HAProxy in front for the client address itself).
 */

const PROXY = "127.0.0.1";
const CLIENT = "127.0.0.5";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** GET `path` with `X-Request-Id: id` from `from`; the status and the id answered. */
function get(port: number, from: string, path: string, id: string) {
  const request = `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`;
  return new Promise<{ status: number; id: string | undefined }>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.3", port, localAddress: from });
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
      const { status, head } = parseRaw(raw);
      resolve({ status, id: /^x-request-id: (.*)$/im.exec(head)?.[1]?.trim() });
    });
  });
}

test("template app: a trusted proxy's X-Request-Id is kept (response and access log), a client's is replaced", async () => {
  const fleet = await startReadyFleet({
    env: {
      ...PROJECT_APP,
      WORKERS: "1",
      HOST: "127.0.0.3",
      TRUSTED_PROXIES: `${PROXY}/32`,
      ACCESS_LOG: "1",
    },
  });
  // The read route answers without a promise on SQLite, a 404 through the not-found handler:
  // both get the id as any other response does.
  for (const path of ["/api/todos/999999", "/no/such/page"]) {
    const fromProxy = await get(fleet.port, PROXY, path, "proxy-id-1");
    expect(fromProxy).toEqual({ status: 404, id: "proxy-id-1" });
    const fromClient = await get(fleet.port, CLIENT, path, "client-chosen-1");
    expect(fromClient.status).toBe(404);
    expect(fromClient.id).toMatch(UUID);
  }
  await waitFor("the access lines", () => fleet.stdout().includes("GET /no/such/page 404"));
  const lines = fleet
    .stdout()
    .split("\n")
    .filter((line) => line.includes(" 404 "));
  expect(lines.filter((line) => line.includes("requestId=proxy-id-1"))).toHaveLength(2);
  expect(fleet.stdout()).not.toContain("client-chosen-1");
});
