/**
 * The physical reference for the template's read route: one `Bun.serve` answering
 * `GET /api/todos/:id` from a `bun:sqlite` prepared statement on the same file, with the same
 * body and the same response headers as the template (app/response-headers.ts: hono/secure-headers'
 * defaults and a fresh request id). No fleet, no Hono. `DATABASE_FILE` names the SQLite file (its `todos` table exists).
 * Prints `bench-sqlite-bare: ready pid <pid>` once it listens; stops on SIGTERM/SIGINT.
 */
import { Database } from "bun:sqlite";

const port = Number(process.env.PORT);
const file = process.env.DATABASE_FILE;
if (!Number.isInteger(port) || port < 1 || port > 65535 || !file) {
  console.error("bench-sqlite-bare: PORT (1-65535) and DATABASE_FILE are required");
  process.exit(2);
}

const db = new Database(file, { readonly: true, strict: true });
const byId = db.prepare<
  { id: number; title: string; done: number; created_at: string; updated_at: string },
  [number]
>("select id, title, done, created_at, updated_at from todos where id = ?1");

/** What hono/secure-headers sends by default, in its order. */
const SECURE = [
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["X-XSS-Protection", "0"],
] as const;
const AFTER = [
  ["Origin-Agent-Cluster", "?1"],
  ["X-Download-Options", "noopen"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
] as const;

function headers(): Headers {
  const h = new Headers({ "Content-Type": "application/json" });
  for (const [name, value] of SECURE) h.set(name, value);
  h.set("X-Request-Id", crypto.randomUUID());
  for (const [name, value] of AFTER) h.set(name, value);
  return h;
}

const server = Bun.serve({
  port,
  hostname: process.env.HOST ?? "127.0.0.1",
  development: false,
  routes: {
    "/api/todos/:id": (req) => {
      const row = byId.get(Number(req.params.id));
      if (!row) return Response.json({ error: "Not Found" }, { status: 404, headers: headers() });
      const body = JSON.stringify({
        id: row.id,
        title: row.title,
        done: Boolean(row.done),
        createdAt: new Date(row.created_at).toISOString(),
        updatedAt: new Date(row.updated_at).toISOString(),
      });
      return new Response(body, { headers: headers() });
    },
  },
  fetch: () => new Response("Not Found", { status: 404 }),
});
const stop = () => void server.stop(true).then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
console.log(`bench-sqlite-bare: ready pid ${process.pid}`);
