import type { SseEvent, SseOptions } from "../../fleet.ts";
import type { Log } from "../../log.ts";
import type { MessageHandler } from "../pubsub.ts";

/** What `worker.sse` needs from its worker. */
export interface SseParts {
  /** `worker.subscribe`. */
  subscribe(topic: string, handler: MessageHandler): () => void;
  /** `worker.signal`: every stream ends when it aborts. */
  signal: AbortSignal;
  /** SSE_HEARTBEAT_MS and SSE_MAX_BUFFERED_BYTES, when a call does not say. */
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** IDLE_TIMEOUT_S (0 = none): the heartbeat comes at least twice within it. */
  idleTimeoutS: number;
  log: Log;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEARTBEAT = encoder.encode(": heartbeat\n\n");
const OPENED = encoder.encode(": open\n\n");
const BYE: SseEvent = { event: "bye", data: "worker draining" };
const LINE_BREAK = /[\r\n]/;

/** One event in the wire format; throws on a field a line break would split. */
export function encodeEvent({ event, data, id, retry }: SseEvent): Uint8Array {
  let text = "";
  if (event !== undefined) {
    if (!event || LINE_BREAK.test(event)) throw new TypeError("sse: event must be one line");
    text += `event: ${event}\n`;
  }
  if (id !== undefined) {
    if (LINE_BREAK.test(id) || id.includes("\0")) throw new TypeError("sse: id must be one line");
    text += `id: ${id}\n`;
  }
  if (retry !== undefined) {
    if (!Number.isInteger(retry) || retry < 0) throw new TypeError("sse: retry must be ms >= 0");
    text += `retry: ${retry}\n`;
  }
  if (typeof data !== "string") throw new TypeError("sse: data must be a string");
  for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return encoder.encode(`${text}\n`);
}

/**
 * How often a stream beats: `heartbeatMs`, but at least twice per IDLE_TIMEOUT_S. Bun's
 * `idleTimeout` closes a streaming response that writes nothing for that long (and
 * `server.timeout(request, 0)` does not lift it for one: Bun 1.4.5, checked), so a quiet feed
 * beating only every 15 s under the default 10 s would be cut and reconnect every 12 s.
 */
export function heartbeatEvery(heartbeatMs: number, idleTimeoutS: number): number {
  return idleTimeoutS > 0 ? Math.min(heartbeatMs, idleTimeoutS * 500) : heartbeatMs;
}

/** The default mapping: a `message` event carrying the publication (bytes read as UTF-8). */
const asMessage = (data: string | Uint8Array): SseEvent => ({
  data: typeof data === "string" ? data : decoder.decode(data),
});

const positive = (name: string, value: number | undefined, fallback: number) => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`worker.sse: ${name} must be a whole number >= 1 (got ${value})`);
  }
  return value;
};

/**
 * The SSE streams open on one worker (`worker.sse`), counted for status and metrics. Each stream
 * is a TransformStream whose unresolved writes are the bytes its client has not taken yet: past
 * `maxBufferedBytes` the client is cut, so a reader that stalls costs a bounded amount of memory.
 */
export class SseStreams {
  /** Each open stream's drain: one listener on `worker.signal` for all of them. */
  readonly #draining = new Set<() => void>();
  #cut = 0;

  constructor(private readonly parts: SseParts) {
    parts.signal.addEventListener("abort", () => {
      for (const drain of [...this.#draining]) drain();
    });
  }

  /** Streams open now. */
  get size(): number {
    return this.#draining.size;
  }

  /** Streams cut since start because their client fell more than the buffer bound behind. */
  get cut(): number {
    return this.#cut;
  }

  /** `worker.sse(request, topics, options)`: see `FleetWorker.sse`. Throws on bad arguments. */
  open(request: Request, topics: string | readonly string[], options: SseOptions = {}): Response {
    const list = typeof topics === "string" ? [topics] : [...topics];
    if (list.length === 0 || !list.every((t) => typeof t === "string" && t)) {
      throw new TypeError("worker.sse: topics must be a non-empty string or list of them");
    }
    const heartbeatMs = heartbeatEvery(
      positive("heartbeatMs", options.heartbeatMs, this.parts.heartbeatMs),
      this.parts.idleTimeoutS,
    );
    const maxBuffered = positive(
      "maxBufferedBytes",
      options.maxBufferedBytes,
      this.parts.maxBufferedBytes,
    );
    const toEvent = options.event ?? asMessage;
    const first = options.first === undefined ? [] : [options.first].flat();
    const opening = first.length ? first.map(encodeEvent) : [OPENED];
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const { signal, log } = this.parts;
    let buffered = 0;
    let closed = false;
    let warned = false;
    const unsubscribes: (() => void)[] = [];
    const write = (chunk: Uint8Array) => {
      if (closed) return;
      if (buffered + chunk.byteLength > maxBuffered) {
        this.#cut += 1;
        log.warn(
          `sse: a client of ${new URL(request.url, "http://x").pathname} is more than ${maxBuffered} bytes behind (SSE_MAX_BUFFERED_BYTES): stream cut`,
        );
        return end(new Error("client too far behind"));
      }
      buffered += chunk.byteLength;
      writer.write(chunk).then(
        () => {
          buffered -= chunk.byteLength;
        },
        () => end(null),
      );
    };
    const heartbeat = setInterval(() => write(HEARTBEAT), heartbeatMs);
    const onDrain = () => {
      if (!closed) write(encodeEvent(BYE));
      end(null, true);
    };
    const onGone = () => end(null);
    /** Unsubscribes and stops; `error` cuts the connection, `gracefully` ends the body. */
    const end = (error: Error | null, gracefully = false) => {
      if (closed) return;
      closed = true;
      this.#draining.delete(onDrain);
      clearInterval(heartbeat);
      request.signal?.removeEventListener("abort", onGone);
      for (const unsubscribe of unsubscribes) unsubscribe();
      const done = gracefully && !error ? writer.close() : writer.abort(error ?? undefined);
      done.catch(() => {});
    };
    this.#draining.add(onDrain);
    for (const chunk of opening) write(chunk);
    const onMessage: MessageHandler = (data, topic) => {
      let event: SseEvent | null;
      try {
        event = toEvent(data, topic);
        if (event) write(encodeEvent(event));
      } catch (error) {
        if (!warned)
          log.warn(
            `sse: a message on ${topic} was skipped (once per stream): ${(error as Error).message}`,
          );
        warned = true;
      }
    };
    try {
      for (const topic of closed ? [] : list) {
        unsubscribes.push(this.parts.subscribe(topic, onMessage));
      }
    } catch (error) {
      end(error as Error);
      throw error;
    }
    if (signal.aborted) onDrain();
    else if (!closed) request.signal?.addEventListener("abort", onGone, { once: true });
    return new Response(readable, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        ...options.headers,
      },
    });
  }
}
