import { Hono } from "hono";
import type { FleetWorker } from "../../workers/fleet.ts";
import { ROOM, roomTopic } from "./chat.ts";

/**
 * `GET /events?room=lobby`: a Server-Sent Events stream of a chat room (see chat.ts). Every
 * message said in the room, on any worker of the fleet (and with PUBSUB_URL on any fleet),
 * arrives as a `message` event. `worker.sse` does the plumbing: a `hello` event at once (which
 * worker serves it), a heartbeat comment, a bound on what a slow client may fall behind, a `bye`
 * event when this worker begins to drain (the browser's EventSource then reconnects to a worker
 * that serves), and the unsubscribe when the stream ends.
 */
export function events(worker: FleetWorker): Hono {
  return new Hono().get("/events", (c) => {
    const room = c.req.query("room") ?? "lobby";
    if (!ROOM.test(room)) return c.json({ error: "room: use 1-32 of A-Z a-z 0-9 _ -" }, 400);
    const hello = JSON.stringify({ worker: worker.index, room });
    return worker.sse(c.req.raw, roomTopic(room), { first: { event: "hello", data: hello } });
  });
}
