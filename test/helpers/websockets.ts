/** A real WebSocket client (Bun's global `WebSocket`) with what a test needs to assert on. */
export interface Client {
  ws: WebSocket;
  /** The worker index from the test app's greeting (`hello from worker <i>`). */
  worker: number;
  /** Messages after the greeting, in order. */
  messages: string[];
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string; at: number }>;
}

/** Opens `url` and waits for the test app's greeting; rejects after `timeoutMs`. */
export function connect(url: string, timeoutMs = 3000): Promise<Client> {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  let greeted: (worker: number) => void = () => {};
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
    ws.addEventListener("close", (e) =>
      resolve({ code: e.code, reason: e.reason, at: Date.now() }),
    );
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const greeting = new Promise<number>((resolve, reject) => {
    greeted = resolve;
    timer = setTimeout(
      () => reject(new Error(`no greeting from ${url} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    closed.then(({ code }) => reject(new Error(`closed (${code}) before its greeting`)));
  }).finally(() => clearTimeout(timer));
  let greetedYet = false;
  ws.addEventListener("message", (e) => {
    const text = String(e.data);
    if (greetedYet) return void messages.push(text);
    greetedYet = true;
    greeted(Number(/^hello from worker (\d+)$/.exec(text)?.[1] ?? -1));
  });
  return greeting.then((worker) => ({ ws, worker, messages, closed }));
}

/** Opens `n` clients at once. */
export function connectMany(url: string, n: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: n }, () => connect(url)));
}

/** `ws://` URL of a fleet path. */
export const wsUrl = (port: number, path: string) => `ws://127.0.0.1:${port}${path}`;
