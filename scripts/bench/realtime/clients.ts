/**
 * The bench's clients: WebSocket subscribers spread over workers, a server-side flood
 * (`POST /pub`), a paced publisher for latency, and many idle sockets for memory.
 */

/** One open socket to the bench app, counting what it receives. */
export interface Sub {
  ws: WebSocket;
  worker: number;
  received: number;
  lastAt: number;
  onMessage: ((data: string) => void) | null;
}

/** Opens `/ws?topic=…` and resolves once the server said which worker holds it. */
export function connect(port: number, topic: string, to = topic): Promise<Sub> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?topic=${topic}&to=${to}`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no hello on port ${port} in 10 s`)), 10_000);
    ws.onerror = () => reject(new Error(`WebSocket to port ${port} failed`));
    ws.onmessage = (event) => {
      const sub: Sub = {
        ws,
        worker: JSON.parse(String(event.data)).worker,
        received: 0,
        lastAt: 0,
        onMessage: null,
      };
      ws.onmessage = (e) => {
        sub.received += 1;
        sub.lastAt = performance.now();
        sub.onMessage?.(e.data as string);
      };
      clearTimeout(timer);
      resolve(sub);
    };
  });
}

/** `perWorker` subscribers on each of `workers` workers (extra connections are closed). */
export async function spread(port: number, topic: string, workers: number, perWorker: number) {
  const kept: Sub[] = [];
  for (let attempt = 0; attempt < 200 && kept.length < workers * perWorker; attempt++) {
    const sub = await connect(port, topic);
    if (kept.filter((s) => s.worker === sub.worker).length < perWorker) kept.push(sub);
    else sub.ws.close();
  }
  if (kept.length < workers * perWorker)
    throw new Error(`could not spread over ${workers} workers`);
  return kept;
}

/** Closes sockets and waits until they are closed. */
export async function closeAll(subs: Sub[]): Promise<void> {
  await Promise.all(
    subs.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.ws.readyState === WebSocket.CLOSED) return resolve();
          s.ws.onclose = () => resolve();
          s.ws.close();
        }),
    ),
  );
}

/** Result of one flood: messages delivered to all subscribers per second. */
export interface FanOut {
  delivered: number;
  expected: number;
  perSecond: number;
}

/**
 * Asks `publishPort` to publish `n` messages and counts what `subs` receive until all arrived
 * or nothing arrived for 1 s (a drop), bounded by `timeoutMs`.
 */
export async function fanOut(
  publishPort: number,
  subs: Sub[],
  n: number,
  size: number,
  timeoutMs = 20_000,
): Promise<FanOut> {
  for (const s of subs) s.received = 0;
  const expected = n * subs.length;
  const start = performance.now();
  const res = await fetch(`http://127.0.0.1:${publishPort}/pub?topic=bench&n=${n}&size=${size}`, {
    method: "POST",
  });
  if (!res.ok) throw new Error(`POST /pub answered ${res.status}`);
  const total = () => subs.reduce((sum, s) => sum + s.received, 0);
  for (;;) {
    const now = performance.now();
    const last = Math.max(...subs.map((s) => s.lastAt));
    if (total() >= expected || now - start > timeoutMs || (last > 0 && now - last > 1000)) break;
    await Bun.sleep(5);
  }
  const delivered = total();
  const end = Math.max(...subs.map((s) => s.lastAt));
  return { delivered, expected, perSecond: delivered / ((end - start) / 1000) };
}

/** Latency percentiles (ms) per subscriber worker, publishing `rate` msg/s for `ms`. */
export async function latency(
  publisher: Sub,
  subs: Sub[],
  rate: number,
  ms: number,
): Promise<Map<number, number[]>> {
  const samples = new Map<number, number[]>();
  for (const s of subs) {
    const mine: number[] = [];
    samples.set(s.worker, mine);
    s.onMessage = (data) => mine.push(performance.now() - Number(data));
  }
  const start = performance.now();
  let sent = 0;
  for (let now = start; now - start < ms; now = performance.now()) {
    const due = Math.floor(((now - start) / 1000) * rate);
    while (sent < due) {
      publisher.ws.send(String(performance.now()));
      sent += 1;
    }
    await Bun.sleep(1);
  }
  await Bun.sleep(200); // the last messages in flight
  for (const s of subs) s.onMessage = null;
  return samples;
}

/** The p-th percentile (0-100) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Opens `count` idle sockets, `batch` at a time. */
export async function openIdle(port: number, count: number, batch = 250): Promise<Sub[]> {
  const subs: Sub[] = [];
  while (subs.length < count) {
    const n = Math.min(batch, count - subs.length);
    subs.push(...(await Promise.all(Array.from({ length: n }, () => connect(port, "idle")))));
  }
  return subs;
}
