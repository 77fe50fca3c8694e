import type { Publication } from "./protocol.ts";

/**
 * Pub/sub pieces both sides share: how a payload becomes a `Publication` on the JSON IPC
 * channel and back, and what one costs against a worker's in-flight budget.
 */

/** Largest payload `worker.publish` accepts (bytes, or UTF-16 units of a string). */
export const MAX_PUBLISH_BYTES = 1024 * 1024;

/** Per-message overhead counted against the in-flight budget (tag, kind, field names). */
export const MESSAGE_OVERHEAD_BYTES = 64;

/** What `worker.publish` takes. */
export type PublishData = string | ArrayBuffer | ArrayBufferView;

/** Checks a topic and payload, and encodes the payload for the JSON channel. */
export function toPublication(topic: unknown, data: unknown): Publication {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError("worker.publish(topic, data): topic must be a non-empty string");
  }
  let publication: Publication;
  let size: number;
  if (typeof data === "string") {
    publication = { topic, data, binary: false };
    size = data.length;
  } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const bytes =
      data instanceof ArrayBuffer
        ? Buffer.from(data)
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    publication = { topic, data: bytes.toString("base64"), binary: true };
    size = bytes.byteLength;
  } else {
    throw new TypeError(
      `worker.publish(${JSON.stringify(topic)}, data): data must be a string, ArrayBuffer or typed array`,
    );
  }
  if (size > MAX_PUBLISH_BYTES) {
    throw new RangeError(
      `worker.publish(${JSON.stringify(topic)}): ${size} bytes is over the ${MAX_PUBLISH_BYTES}-byte limit`,
    );
  }
  return publication;
}

/** The payload to hand to `server.publish`: the string, or the decoded bytes. */
export function payloadOf(publication: Publication): string | Uint8Array {
  return publication.binary ? Buffer.from(publication.data, "base64") : publication.data;
}

/** What one publication costs against a worker's in-flight budget (approximate bytes). */
export function costOf(publication: Publication): number {
  return publication.data.length + publication.topic.length + MESSAGE_OVERHEAD_BYTES;
}
