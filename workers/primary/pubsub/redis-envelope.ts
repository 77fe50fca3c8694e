import type { Publication } from "../../protocol.ts";
import { MAX_PUBLISH_BYTES } from "../../pubsub.ts";

/**
 * What travels on the Redis channel: a publication plus the origin id of the fleet that sent
 * it, as compact JSON (`o`, `t`, `d`, `b`). Anything on the channel may come from another
 * program, so decoding checks every field and the size.
 */

/** Longest envelope accepted: the largest payload as base64, plus room for the rest. */
const MAX_ENVELOPE_CHARS = Math.ceil((MAX_PUBLISH_BYTES * 4) / 3) + 4096;

/** Encodes a publication from `origin` for Redis. */
export function encodeEnvelope(origin: string, publication: Publication): string {
  const { topic, data, binary } = publication;
  return JSON.stringify({ o: origin, t: topic, d: data, b: binary ? 1 : 0 });
}

/** A decoded envelope, or why it was refused. */
export type Envelope =
  | { ok: true; origin: string; publication: Publication }
  | { ok: false; error: string };

/** Decodes and checks an envelope read from Redis. */
export function decodeEnvelope(text: string): Envelope {
  if (text.length > MAX_ENVELOPE_CHARS) {
    return { ok: false, error: `${text.length} characters is over ${MAX_ENVELOPE_CHARS}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  const { o, t, d, b } = (typeof raw === "object" && raw !== null ? raw : {}) as Record<
    string,
    unknown
  >;
  if (typeof o !== "string" || o === "") return { ok: false, error: "o (origin) must be a string" };
  if (typeof t !== "string" || t === "") return { ok: false, error: "t (topic) must be a string" };
  if (typeof d !== "string") return { ok: false, error: "d (data) must be a string" };
  if (b !== 0 && b !== 1) return { ok: false, error: "b (binary) must be 0 or 1" };
  return { ok: true, origin: o, publication: { topic: t, data: d, binary: b === 1 } };
}
