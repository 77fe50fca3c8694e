/**
 * The real client address behind trusted proxies (TRUSTED_PROXIES): pure parsing, shared by the
 * primary (which checks the setting) and the workers (which read each request's headers).
 * Addresses are compared as 16 bytes, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so
 * `10.0.0.0/8` also matches a peer Bun reports as `::ffff:10.1.2.3`.
 */

import type { Result } from "./checks.ts";

/** One trusted network: its first 16 bytes and prefix length (IPv4 ranges as mapped /96+). */
export interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseV4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/** 16 bytes of an IPv4 or IPv6 address (no brackets, no port, no zone), or null. */
export function addressBytes(text: string): Uint8Array | null {
  if (!text.includes(":")) {
    const v4 = parseV4(text);
    return v4 ? Uint8Array.from([...V4_MAPPED_PREFIX, ...v4]) : null;
  }
  let v6 = text;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 tail (::ffff:10.1.2.3) becomes its two hex groups.
    const v4 = parseV4(text.slice(lastColon + 1));
    if (!v4) return null;
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    v6 = `${text.slice(0, lastColon + 1)}${hex(v4[0] as number, v4[1] as number)}:${hex(v4[2] as number, v4[3] as number)}`;
  }
  const halves = v6.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groupsOf(halves[0] as string);
  const right = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  let groups = left;
  if (halves.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...Array<string>(missing).fill("0"), ...right];
  }
  if (groups.length !== 8) return null;
  const bytes: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const n = Number.parseInt(group, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  return Uint8Array.from(bytes);
}

/** One CIDR (`10.0.0.0/8`, `::1/128`) or a bare address (a single host). */
export function parseCidr(text: string): Cidr | null {
  const [address = "", prefix, ...rest] = text.trim().split("/");
  if (rest.length) return null;
  const bytes = addressBytes(address);
  if (!bytes) return null;
  const v4 = !address.includes(":");
  const max = v4 ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return null;
  const bits = prefix === undefined ? max : Number(prefix);
  if (bits > max) return null;
  return { bytes, bits: v4 ? bits + 96 : bits };
}

/**
 * TRUSTED_PROXIES: a comma-separated list of CIDRs or addresses, normalised (trimmed, joined by
 * commas); empty means none. Errors name the entry that is wrong.
 */
export function parseTrustedProxies(raw: string): Result<string> {
  const entries = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const entry of entries) {
    if (!parseCidr(entry)) {
      return {
        ok: false,
        error: `"${entry}" is not a CIDR (like 10.0.0.0/8, 192.168.1.7 or fd00::/8)`,
      };
    }
  }
  return { ok: true, value: entries.join(",") };
}

function inCidr(bytes: Uint8Array, cidr: Cidr): boolean {
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] as number) & mask) !== ((cidr.bytes[i] as number) & mask)) return false;
  }
  return true;
}

/**
 * One hop of `X-Forwarded-For` or one `for=` of `Forwarded` as an address: brackets, a port,
 * quotes and an IPv6 zone taken off; null for anything else (`unknown`, `_hidden`, garbage).
 */
export function hopAddress(raw: string): string | null {
  let text = raw.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1);
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) return null;
    const rest = text.slice(end + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return null;
    text = text.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(text)) {
    text = text.slice(0, text.lastIndexOf(":")); // IPv4 with a port
  }
  text = text.split("%")[0] as string; // zone id
  return addressBytes(text) ? shownAddress(text) : null;
}

/** An address as the app and the log see it: IPv4-mapped IPv6 as plain IPv4, hex in lower case. */
export function shownAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower;
}

/** The `for=` values of a `Forwarded` header (RFC 7239), in order; null when it is malformed. */
export function forwardedFor(header: string): string[] | null {
  const hops: string[] = [];
  // Elements are separated by commas, pairs by semicolons; quoted strings may hold either.
  const elements = header.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  for (const element of elements) {
    for (const pair of element.match(/(?:[^;"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
      const eq = pair.indexOf("=");
      if (eq < 0) return null;
      if (pair.slice(0, eq).trim().toLowerCase() === "for") hops.push(pair.slice(eq + 1).trim());
    }
  }
  return hops;
}

/** Which header the trusted proxies append to (FORWARDED_HEADER). */
export type ForwardedHeader = "x-forwarded-for" | "forwarded";

/**
 * Who the client is, given the peer that connected and what proxies said: when the peer is a
 * trusted proxy, the rightmost hop of the chain that is not itself trusted (each proxy appends
 * the address it saw, so everything left of the first untrusted hop from the right may be made
 * up by the client). A peer that is not trusted is the client, whatever its headers say. A hop
 * that is not an address stops the walk: the last trusted hop's sender is then unknown, and the
 * nearest trusted address is answered instead of a made-up one. Only the one header the
 * proxies append to is read: the other passes through them untouched, so the client wrote it.
 */
export class ClientAddress {
  readonly #trusted: Cidr[];

  constructor(
    trustedProxies: string,
    readonly header: ForwardedHeader = "x-forwarded-for",
  ) {
    this.#trusted = trustedProxies
      .split(",")
      .filter((s) => s !== "")
      .map((s) => parseCidr(s) as Cidr);
  }

  /** True when some proxy is trusted (else headers are never read). */
  get enabled(): boolean {
    return this.#trusted.length > 0;
  }

  trusts(address: string): boolean {
    const bytes = addressBytes(address);
    return bytes !== null && this.#trusted.some((cidr) => inCidr(bytes, cidr));
  }

  /** The client's address for a request from `peer` whose `header` (see above) reads `chain`. */
  resolve(peer: string, chain: string | null): string {
    if (!this.enabled || !this.trusts(peer)) return shownAddress(peer);
    let hops: string[] = [];
    if (chain !== null) {
      hops = (this.header === "forwarded" ? forwardedFor(chain) : chain.split(",")) ?? [];
    }
    let client = shownAddress(peer);
    for (let i = hops.length - 1; i >= 0; i--) {
      const address = hopAddress(hops[i] as string);
      if (address === null) return client;
      client = address;
      if (!this.trusts(address)) return address;
    }
    return client;
  }
}
