import { describe, expect, test } from "bun:test";
import {
  addressBytes,
  ClientAddress,
  forwardedFor,
  hopAddress,
  parseTrustedProxies,
} from "../../workers/client-address.ts";

describe("addresses", () => {
  test("reads IPv4, IPv6, compressed IPv6 and IPv4-mapped IPv6 as 16 bytes", () => {
    expect(Array.from(addressBytes("10.1.2.3") ?? [])).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3,
    ]);
    expect(addressBytes("::ffff:10.1.2.3")).toEqual(addressBytes("10.1.2.3") as Uint8Array);
    expect(addressBytes("::ffff:a01:203")).toEqual(addressBytes("10.1.2.3") as Uint8Array);
    expect(Array.from(addressBytes("::1") ?? [])).toEqual([...Array(15).fill(0), 1]);
    expect(addressBytes("2001:db8::1")).toEqual(
      addressBytes("2001:0DB8:0:0:0:0:0:1") as Uint8Array,
    );
  });

  test.each([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3.-1",
    "01.2.3.4a",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "g::1",
    "::ffff:1.2.3.999",
    "localhost",
  ])("refuses %p", (text) => {
    expect(addressBytes(text)).toBeNull();
  });
});

describe("TRUSTED_PROXIES", () => {
  test("accepts CIDRs and bare addresses of both families, normalised", () => {
    expect(parseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1 ")).toEqual({
      ok: true,
      value: "10.0.0.0/8,192.168.1.7,fd00::/8,::1",
    });
    expect(parseTrustedProxies("")).toEqual({ ok: true, value: "" });
  });

  test.each(["10.0.0.0/33", "::/129", "10.0.0.0/8/8", "10.0.0/8", "proxy.local", "10.0.0.0/x"])(
    "names the entry %p that is not a CIDR",
    (entry) => {
      const parsed = parseTrustedProxies(`127.0.0.1/32, ${entry}`);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toContain(`"${entry}" is not a CIDR`);
    },
  );
});

describe("hops", () => {
  test.each([
    ["1.2.3.4", "1.2.3.4"],
    [" 1.2.3.4 ", "1.2.3.4"],
    ["1.2.3.4:5678", "1.2.3.4"],
    ["2001:DB8::1", "2001:db8::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ['"[2001:db8::1]:443"', "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
  ])("%p is %p", (raw, address) => {
    expect(hopAddress(raw)).toBe(address);
  });

  test.each([
    "unknown",
    "_hidden",
    "",
    "[::1",
    "[::1]x",
    "1.2.3.4:port",
    "<script>",
    "1.2.3.4 5.6.7.8",
  ])("%p is no address", (raw) => {
    expect(hopAddress(raw)).toBeNull();
  });

  test("Forwarded: every for= in order, quoted values and other pairs included", () => {
    expect(
      forwardedFor('for=1.2.3.4;proto=https, for="[2001:db8::1]:80";by=10.0.0.1, FOR = 5.6.7.8'),
    ).toEqual(["1.2.3.4", '"[2001:db8::1]:80"', "5.6.7.8"]);
    expect(forwardedFor('by=10.0.0.1;host="a,b;c"')).toEqual([]);
    expect(forwardedFor("garbage")).toBeNull();
  });
});

describe("the client behind trusted proxies", () => {
  const proxies = new ClientAddress("10.0.0.0/8,::1");
  const viaForwarded = new ClientAddress("10.0.0.0/8,::1", "forwarded");

  test("without trusted proxies the peer is the client, whatever the headers say", () => {
    const none = new ClientAddress("");
    expect(none.resolve("10.0.0.5", "6.6.6.6")).toBe("10.0.0.5");
    expect(none.resolve("::ffff:10.0.0.5", null)).toBe("10.0.0.5");
  });

  test("an untrusted peer's X-Forwarded-For and Forwarded change nothing", () => {
    expect(proxies.resolve("203.0.113.9", "6.6.6.6")).toBe("203.0.113.9");
    expect(viaForwarded.resolve("203.0.113.9", "for=7.7.7.7")).toBe("203.0.113.9");
    expect(proxies.resolve("2001:db8::5", "6.6.6.6")).toBe("2001:db8::5");
  });

  test("behind one trusted proxy, the rightmost hop is the client", () => {
    expect(proxies.resolve("10.0.0.5", "203.0.113.9")).toBe("203.0.113.9");
    expect(proxies.resolve("::ffff:10.0.0.5", "203.0.113.9")).toBe("203.0.113.9");
  });

  test("hops the client wrote itself, left of the proxy's, are ignored", () => {
    expect(proxies.resolve("10.0.0.5", "6.6.6.6, 203.0.113.9")).toBe("203.0.113.9");
    expect(viaForwarded.resolve("10.0.0.5", "for=6.6.6.6, for=203.0.113.9")).toBe("203.0.113.9");
  });

  test("a chain of trusted proxies is walked from the right", () => {
    expect(proxies.resolve("10.0.0.5", "6.6.6.6, 203.0.113.9, 10.9.9.9, ::1")).toBe("203.0.113.9");
    expect(proxies.resolve("::1", "2001:db8::7")).toBe("2001:db8::7");
    expect(proxies.resolve("10.0.0.5", "::ffff:10.1.1.1, 198.51.100.4")).toBe("198.51.100.4");
  });

  test("only trusted hops: the leftmost of them", () => {
    expect(proxies.resolve("10.0.0.5", "10.1.1.1, 10.2.2.2")).toBe("10.1.1.1");
    expect(proxies.resolve("10.0.0.5", null)).toBe("10.0.0.5");
  });

  test("garbage in the chain stops the walk at the nearest trusted address", () => {
    expect(proxies.resolve("10.0.0.5", "6.6.6.6, unknown")).toBe("10.0.0.5");
    expect(proxies.resolve("10.0.0.5", "6.6.6.6, nonsense, 10.1.1.1")).toBe("10.1.1.1");
    expect(proxies.resolve("10.0.0.5", "")).toBe("10.0.0.5");
    expect(proxies.resolve("10.0.0.5", ",,,")).toBe("10.0.0.5");
    expect(viaForwarded.resolve("10.0.0.5", "garbage")).toBe("10.0.0.5");
    expect(viaForwarded.resolve("10.0.0.5", 'for="_hidden"')).toBe("10.0.0.5");
  });

  test("Forwarded: quoted IPv6 with a port, other pairs beside it", () => {
    expect(viaForwarded.resolve("10.0.0.5", 'for="[2001:db8::9]:1234";proto=https')).toBe(
      "2001:db8::9",
    );
    expect(viaForwarded.resolve("10.0.0.5", "for=198.51.100.1:80;by=10.0.0.5")).toBe(
      "198.51.100.1",
    );
  });

  test("ports on hops are dropped", () => {
    expect(proxies.resolve("10.0.0.5", "203.0.113.9:4711")).toBe("203.0.113.9");
    expect(proxies.resolve("10.0.0.5", "[2001:db8::1]:4711")).toBe("2001:db8::1");
  });
});
