import { waitFor } from "./fleet.ts";

/** A chat message as the test app's room (/chat/ws) sends it. */
export interface ChatMessage {
  type: "message";
  from: string;
  text: string;
  worker: number;
}

/** A client of the test app's room, recording what it receives. */
export interface ChatClient {
  ws: WebSocket;
  name: string;
  /** The worker that holds this connection. */
  worker: number;
  readonly messages: ChatMessage[];
  closed: Promise<CloseEvent>;
}

/** Connects to `/chat/ws` and resolves once the room confirmed the join (subscribed). */
export async function joinChat(port: number, room: string, name: string): Promise<ChatClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/ws?room=${room}&name=${name}`);
  const messages: ChatMessage[] = [];
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  const worker = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no join within 5 s`)), 5000);
    ws.addEventListener("error", () => reject(new Error(`${name}: WebSocket error`)));
    ws.addEventListener("message", (event) => {
      const m = JSON.parse(String(event.data));
      if (m.type === "joined") {
        clearTimeout(timer);
        resolve(m.worker);
      } else messages.push(m);
    });
  });
  return { ws, name, worker, messages, closed };
}

/** Joins until at least `perWorker` clients sit on each of `workers` workers (fresh connections). */
export async function joinAcross(
  port: number,
  room: string,
  workers: number,
  perWorker: number,
): Promise<ChatClient[]> {
  const clients: ChatClient[] = [];
  const on = (w: number) => clients.filter((c) => c.worker === w).length;
  await waitFor(`${perWorker} chat clients on each of ${workers} workers`, async () => {
    clients.push(await joinChat(port, room, `c${clients.length}`));
    return Array.from({ length: workers }, (_, w) => on(w) >= perWorker).every(Boolean);
  });
  return clients;
}

/** Closes every client and waits until each is closed (tests call it in a finally). */
export async function leave(clients: ChatClient[]): Promise<void> {
  for (const c of clients) c.ws.close();
  await Promise.all(clients.map((c) => c.closed));
}
