/**
 * A load client that opens a new TCP connection for every request (`Connection: close`) and
 * counts exactly what failed: refused, reset, or closed without a complete 200 response. wrk
 * cannot count this: it reports every server-closed connection as a read error.
 */

/** What the fresh-connection client saw. */
export interface FreshResult {
  requests: number;
  ok: number;
  failed: number;
  /** Failures by cause, e.g. { ECONNRESET: 3, "no response": 1 }. */
  causes: Record<string, number>;
}

function oneRequest(host: string, port: number, path: string): Promise<string | null> {
  const request = `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`;
  return new Promise((resolve) => {
    let head = "";
    let settled = false;
    const done = (cause: string | null) => {
      if (!settled) resolve(cause);
      settled = true;
    };
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open: (socket) => void socket.write(request),
        data: (_socket, chunk) => {
          if (head.length < 16) head += chunk.toString("latin1");
        },
        close: () =>
          done(head.startsWith("HTTP/1.1 200") ? null : head ? "not 200" : "no response"),
        error: (_socket, error) => done((error as { code?: string }).code ?? error.message),
        connectError: (_socket, error) => done((error as { code?: string }).code ?? error.message),
      },
    }).catch((error: { code?: string; message: string }) => done(error.code ?? error.message));
  });
}

/** Runs `concurrency` loops of one-request connections against host:port for `durationMs`. */
export async function freshConnectionLoad(
  host: string,
  port: number,
  {
    concurrency,
    durationMs,
    path = "/",
  }: { concurrency: number; durationMs: number; path?: string },
): Promise<FreshResult> {
  const result: FreshResult = { requests: 0, ok: 0, failed: 0, causes: {} };
  const end = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < end) {
      const cause = await oneRequest(host, port, path);
      result.requests += 1;
      if (cause === null) result.ok += 1;
      else {
        result.failed += 1;
        result.causes[cause] = (result.causes[cause] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return result;
}
