/**
 * The reference for the real-time bench: the same app in ONE process, where publish is Bun's
 * own `server.publish` (what an app gets without the fleet). `bun reference.ts PORT`.
 */
import type { Server } from "bun";
import { realtimeApp } from "./app.ts";

const port = Number(process.argv[2]);
let server: Server<unknown> | null = null;
const app = realtimeApp({
  index: 0,
  publish: (topic, data) => {
    server?.publish(topic, typeof data === "string" || data instanceof ArrayBuffer ? data : "");
  },
});
server = Bun.serve({ port, hostname: "127.0.0.1", fetch: app.fetch, websocket: app.websocket });
console.log("bun-fleet: serving (reference, one process)");
process.on("SIGTERM", () => process.exit(0));
