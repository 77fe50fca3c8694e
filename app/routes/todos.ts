/**
 * `/api/todos`: a full CRUD on the database to copy from (table `todos`, app/db/migrations).
 *
 *   POST   /api/todos            {title, done?}  → 201 {id, title, done, createdAt, updatedAt}
 *   GET    /api/todos?limit=&cursor=           → 200 {items, nextCursor} (keyset pagination)
 *   GET    /api/todos/:id                      → 200 | 404
 *   PATCH  /api/todos/:id        {title?, done?} → 200 | 404
 *   DELETE /api/todos/:id                      → 204 | 404
 *
 * Invalid input → 422 JSON (zod), malformed JSON → 400, database unreachable → 503 (errors.ts).
 * The same on SQLite and PostgreSQL.
 */
import { zValidator } from "@hono/zod-validator";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { db as currentDb, type Db } from "../db/index.ts";
import { validationFailed } from "../errors.ts";

/** Most characters in a title: Unicode code points, the unit both databases count. */
export const TITLE_MAX = 200;

/**
 * A title: trimmed (JavaScript's `trim`, which also strips U+FEFF), then 1 to TITLE_MAX code points
 * of Unicode text without U+0000. Code points, not zod's `.max` (UTF-16 units, so 😀 counts 2):
 * SQLite's `length()` and PostgreSQL's `char_length()` count characters, as the migrations' CHECK
 * does. U+0000 is refused here because the two databases disagree on it (PostgreSQL refuses it,
 * SQLite stores it and its `length()` stops there); a lone surrogate (JSON's `"\ud800"`) is not
 * text and could only be stored as U+FFFD. Anything else is stored and read back byte for byte.
 */
const Title = z
  .string()
  .trim()
  .superRefine((title, ctx) => {
    if (!title.isWellFormed()) {
      ctx.addIssue({ code: "custom", message: "not Unicode text (a lone surrogate)" });
    } else if (title.includes("\0")) {
      ctx.addIssue({ code: "custom", message: "U+0000 (NUL) is not allowed" });
    }
    let length = 0;
    for (const _ of title) length++;
    if (length < 1) {
      ctx.addIssue({ code: "too_small", origin: "string", minimum: 1, input: title });
    } else if (length > TITLE_MAX) {
      ctx.addIssue({ code: "too_big", origin: "string", maximum: TITLE_MAX, input: title });
    }
  });

const CreateTodo = z.object({ title: Title, done: z.boolean().default(false) });

const UpdateTodo = z
  .object({ title: Title.optional(), done: z.boolean().optional() })
  .refine((v) => v.title !== undefined || v.done !== undefined, {
    message: "give title and/or done",
  });

/** Ids are positive 32-bit integers (PostgreSQL `integer`); anything else names no todo. */
const MAX_ID = 2 ** 31 - 1;

/** The id after which the next page starts, opaque to clients (base64url of the last id). */
const encodeCursor = (id: number) => Buffer.from(String(id)).toString("base64url");
const Cursor = z.string().transform((raw, ctx) => {
  const text = /^[A-Za-z0-9_-]{1,16}$/.test(raw) ? Buffer.from(raw, "base64url").toString() : "";
  const id = /^\d{1,10}$/.test(text) ? Number(text) : -1;
  if (id < 0 || id > MAX_ID) {
    ctx.addIssue({ code: "custom", message: "not a cursor from a previous page" });
    return z.NEVER;
  }
  return id;
});

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: Cursor.optional(),
});

function parseId(raw: string): number | null {
  if (!/^\d{1,10}$/.test(raw)) return null;
  const id = Number(raw);
  return id >= 1 && id <= MAX_ID ? id : null;
}

type Row = {
  id: number;
  title: string;
  done: boolean | number;
  created_at: Date | string;
  updated_at: Date | string;
};

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

/** A row as JSON: SQLite's 0/1 and ISO text, PostgreSQL's boolean and Date, look the same. */
function toTodo(row: Row) {
  return {
    id: Number(row.id),
    title: row.title,
    done: Boolean(row.done),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const notFound = (c: Context) => c.json({ error: "Not Found" }, 404);

/** The routes; `db` is this worker's client (a parameter so tests can hand their own). */
export function todos(db: () => Db = currentDb) {
  return new Hono()
    .post("/todos", zValidator("json", CreateTodo, validationFailed), async (c) => {
      const { title, done } = c.req.valid("json");
      const now = new Date().toISOString();
      const [row] = await db().query(
        (sql) => sql<Row[]>`
          insert into todos (title, done, created_at, updated_at)
          values (${title}, ${done}, ${now}, ${now})
          returning id, title, done, created_at, updated_at`,
      );
      return c.json(toTodo(row as Row), 201);
    })
    .get("/todos", zValidator("query", ListQuery, validationFailed), async (c) => {
      const { limit, cursor = 0 } = c.req.valid("query");
      const rows = await db().query(
        (sql) => sql<Row[]>`
          select id, title, done, created_at, updated_at from todos
          where id > ${cursor} order by id limit ${limit + 1}`,
      );
      const items = rows.slice(0, limit).map(toTodo);
      const last = items.at(-1);
      const nextCursor = rows.length > limit && last ? encodeCursor(last.id) : null;
      return c.json({ items, nextCursor });
    })
    .get("/todos/:id", (c) => {
      const id = parseId(c.req.param("id"));
      if (id === null) return notFound(c);
      // query's second argument, rather than `await`: on SQLite the row is there at once, and
      // the route answers without a promise (~5 % more reads a second; app/db/README.md). The
      // same code waits for PostgreSQL.
      return db().query(
        (sql) => sql<Row[]>`
          select id, title, done, created_at, updated_at from todos where id = ${id}`,
        ([row]) => (row ? c.json(toTodo(row)) : notFound(c)),
      );
    })
    .patch("/todos/:id", zValidator("json", UpdateTodo, validationFailed), async (c) => {
      const id = parseId(c.req.param("id"));
      if (id === null) return notFound(c);
      const patch = c.req.valid("json");
      // Read, then write: one transaction (BEGIN IMMEDIATE on SQLite, so it never fails halfway
      // with SQLITE_BUSY). Inside it, use `tx`, never db(): that would wait for this transaction.
      const row = await db().transaction(async (tx) => {
        const [current] = await tx<Row[]>`
          select id, title, done, created_at, updated_at from todos where id = ${id}`;
        if (!current) return null;
        const [updated] = await tx<Row[]>`
          update todos
          set title = ${patch.title ?? current.title},
              done = ${patch.done ?? Boolean(current.done)},
              updated_at = ${new Date().toISOString()}
          where id = ${id}
          returning id, title, done, created_at, updated_at`;
        return updated ?? null;
      });
      return row ? c.json(toTodo(row)) : notFound(c);
    })
    .delete("/todos/:id", async (c) => {
      const id = parseId(c.req.param("id"));
      if (id === null) return notFound(c);
      const rows = await db().query((sql) => sql`delete from todos where id = ${id} returning id`);
      return rows.length ? c.body(null, 204) : notFound(c);
    });
}
