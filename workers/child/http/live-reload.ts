import type { Server } from "bun";
import type { FetchApp } from "../../fleet.ts";

/** The live-reload channel (server-sent events), served by every worker in `bun run dev` only. */
export const LIVE_RELOAD_PATH = "/__livereload";

/** Pages open at once per worker; more get 503 (a tab left open per save would add up). */
const MAX_PAGES = 256;

/**
 * The client injected into HTML in dev mode. It remembers the first generation it hears and
 * reloads the page when a later one differs. A retiring worker closes its streams (and a draining
 * one answers 503), so the client reconnects by itself until a new worker answers.
 */
export const LIVE_RELOAD_CLIENT = `<script>/* bun run dev: live reload */(() => {
  let first;
  const connect = () => {
    const events = new EventSource(${JSON.stringify(LIVE_RELOAD_PATH)});
    events.onmessage = (event) => {
      if (first === undefined) first = event.data;
      else if (event.data !== first) location.reload();
    };
    events.onerror = () => { events.close(); setTimeout(connect, 250); };
  };
  connect();
})();</script>`;

const encoder = new TextEncoder();

/**
 * One worker's live-reload streams. Each event's data is the fleet's count of completed rolling
 * reloads (the primary sends it when this worker is ready and after each reload has completed).
 */
export class LiveReload {
  #generation: number | null = null;
  readonly #pages = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #closed = false;

  /** The fleet's reload count changed (or is first known): tell every open page. */
  update(generation: number): void {
    if (generation === this.#generation) return;
    this.#generation = generation;
    for (const page of this.#pages) this.#send(page);
  }

  /** `GET /__livereload`: an event stream that stays open (no idle timeout) until we drain. */
  connect(request: Request, server: Server<undefined>): Response {
    if (this.#closed) return Response.json({ error: "draining" }, { status: 503 });
    if (this.#pages.size >= MAX_PAGES) {
      return Response.json({ error: `more than ${MAX_PAGES} live-reload pages` }, { status: 503 });
    }
    server.timeout(request, 0);
    let page: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        page = controller;
        this.#pages.add(page);
        if (this.#generation !== null) this.#send(page);
      },
      cancel: () => {
        this.#pages.delete(page);
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
    });
  }

  /** Ends every stream (the worker drains: open streams would hold its server open). */
  close(): void {
    this.#closed = true;
    for (const page of this.#pages) {
      try {
        page.close();
      } catch {
        // already closed by the client
      }
    }
    this.#pages.clear();
  }

  #send(page: ReadableStreamDefaultController<Uint8Array>): void {
    try {
      page.enqueue(encoder.encode(`data: ${this.#generation}\n\n`));
    } catch {
      this.#pages.delete(page); // the page went away
    }
  }
}

/** The app's fetch with the live-reload client injected into HTML responses (dev mode only). */
export function withLiveReloadClient(app: FetchApp): FetchApp["fetch"] {
  return async (request, env) => {
    const response = await app.fetch(request, env);
    return response && injectClient(response); // undefined: upgraded to a WebSocket
  };
}

/** Adds the client before `</body>` (or at the end) of an uncompressed HTML response. */
export async function injectClient(response: Response): Promise<Response> {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("text/html") || !response.body || response.headers.has("content-encoding")) {
    return response;
  }
  const html = await response.text();
  const at = html.lastIndexOf("</body>");
  const injected =
    at === -1 ? html + LIVE_RELOAD_CLIENT : html.slice(0, at) + LIVE_RELOAD_CLIENT + html.slice(at);
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("etag"); // the body changed
  return new Response(injected, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
