/**
 * A chat room across the whole fleet: `GET /chat` is the page, `/chat/ws?room=…&name=…` the
 * WebSocket. Each socket subscribes to its room's topic; what it says goes out with
 * `worker.publish`, so people on different workers (or, with PUBSUB_URL, different machines)
 * see each other. Delete this file, its page and its line in index.ts to drop the example.
 */
import type { ServerWebSocket } from "bun";
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/bun";
import type { FleetWorker } from "../../workers/fleet.ts";

const PAGE = await Bun.file(new URL("../public/chat.html", import.meta.url)).text();
/** A room's name; its messages go out on `roomTopic(room)` (the SSE example streams it too). */
export const ROOM = /^[A-Za-z0-9_-]{1,32}$/;
export const roomTopic = (room: string) => `chat:${room}`;
/** Longest chat line accepted, in characters. */
export const MAX_CHAT_TEXT = 2000;

/** Routes of the chat example, for one worker. */
export function chat(worker: FleetWorker): Hono {
  return new Hono()
    .get("/", (c) => c.html(PAGE))
    .get(
      "/ws",
      async (c, next) => {
        if (ROOM.test(c.req.query("room") ?? "lobby")) return next();
        return c.json({ error: "room: use 1-32 of A-Z a-z 0-9 _ -" }, 400);
      },
      upgradeWebSocket((c) => {
        const room = c.req.query("room") ?? "lobby";
        const name = (c.req.query("name") ?? "").trim().slice(0, 32) || "anonymous";
        const topic = roomTopic(room);
        return {
          onOpen(_event, ws) {
            (ws.raw as ServerWebSocket).subscribe(topic);
            ws.send(JSON.stringify({ type: "joined", room, worker: worker.index }));
          },
          onMessage(event, ws) {
            const text = event.data;
            if (typeof text !== "string" || text.length === 0 || text.length > MAX_CHAT_TEXT) {
              ws.close(1003, `send text of 1 to ${MAX_CHAT_TEXT} characters`);
              return;
            }
            worker.publish(
              topic,
              JSON.stringify({ type: "message", from: name, text, worker: worker.index }),
            );
          },
        };
      }),
    );
}
