import { beforeAll, describe, expect, test } from "bun:test";
import { closeDb, openDb } from "../../app/db/index.ts";
import { migrate } from "../../app/db/migrate.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { createApp } from "../../app/index.ts";
import { fakeWorker } from "../helpers/worker.ts";

type Todo = { id: number; title: string; done: boolean; createdAt: string; updatedAt: string };

/**
 * The /api/todos tests, through the real app (`app.request`), on the database `url()` names:
 * test/app/todos.test.ts runs them on SQLite, test/app-fleet/todos-postgres.test.ts on PostgreSQL.
 */
export function todosSuite(dialect: string, url: () => Promise<string>): void {
  describe(`/api/todos on ${dialect}`, () => {
    const app = createApp(fakeWorker());
    const call = (method: string, path: string, body?: unknown, raw?: string) =>
      app.request(path, {
        method,
        ...(body !== undefined || raw !== undefined
          ? { headers: { "content-type": "application/json" }, body: raw ?? JSON.stringify(body) }
          : {}),
      });
    const create = async (title: string, done?: boolean) => {
      const res = await call(
        "POST",
        "/api/todos",
        done === undefined ? { title } : { title, done },
      );
      expect(res.status).toBe(201);
      return (await res.json()) as Todo;
    };

    beforeAll(async () => {
      await closeDb(Date.now() + 1000);
      const target = parseDatabaseUrl(await url()) as Target;
      await migrate(target);
      await openDb(target, { max: 2, applicationName: "todos test" });
    });

    test("POST creates: 201 with id, title, done, createdAt, updatedAt", async () => {
      const todo = await create("buy milk");
      expect(todo).toEqual({
        id: expect.any(Number),
        title: "buy milk",
        done: false,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updatedAt: todo.createdAt,
      });
      expect((await create("walk", true)).done).toBe(true);
    });

    test("GET /:id reads it; PATCH changes it; DELETE removes it (204), then 404", async () => {
      const todo = await create("read a book");
      const got = await call("GET", `/api/todos/${todo.id}`);
      expect(got.status).toBe(200);
      expect(await got.json()).toEqual(todo);

      const patched = await call("PATCH", `/api/todos/${todo.id}`, { done: true });
      expect(patched.status).toBe(200);
      const after = (await patched.json()) as Todo;
      expect(after).toMatchObject({ id: todo.id, title: "read a book", done: true });
      expect(after.updatedAt >= todo.updatedAt).toBe(true);
      const renamed = await call("PATCH", `/api/todos/${todo.id}`, { title: "read two books" });
      expect(await renamed.json()).toMatchObject({ title: "read two books", done: true });

      const deleted = await call("DELETE", `/api/todos/${todo.id}`);
      expect(deleted.status).toBe(204);
      expect(await deleted.text()).toBe("");
      expect((await call("GET", `/api/todos/${todo.id}`)).status).toBe(404);
      expect((await call("DELETE", `/api/todos/${todo.id}`)).status).toBe(404);
    });

    test("GET /:id: app.fetch hands back the Response itself on SQLite (no promise anywhere: the read path bench:db measures), a promise on PostgreSQL", async () => {
      const todo = await create("answered at once");
      const res = app.fetch(new Request(`http://localhost/api/todos/${todo.id}`));
      expect(res).toBeInstanceOf(dialect === "sqlite" ? Response : Promise);
      const answered = await res;
      expect(answered.headers.get("x-content-type-options")).toBe("nosniff"); // still stamped
      expect(await answered.json()).toEqual(todo);
    });

    test("unknown or impossible ids are 404 JSON, for GET, PATCH and DELETE", async () => {
      for (const id of ["999999", "0", "abc", "99999999999", "-1"]) {
        for (const [method, body] of [
          ["GET", undefined],
          ["PATCH", { done: true }],
          ["DELETE", undefined],
        ] as const) {
          const res = await call(method, `/api/todos/${id}`, body);
          expect({ id, method, status: res.status }).toEqual({ id, method, status: 404 });
          expect(await res.json()).toEqual({ error: "Not Found" });
        }
      }
    });

    test("invalid input is 422 JSON naming the field; malformed JSON is 400", async () => {
      const cases: [string, string, unknown][] = [
        ["POST", "/api/todos", { title: "" }],
        ["POST", "/api/todos", { title: "x".repeat(201) }],
        ["POST", "/api/todos", { title: "ok", done: "yes" }],
        ["POST", "/api/todos", {}],
        ["PATCH", "/api/todos/1", {}],
        ["PATCH", "/api/todos/1", { title: 5 }],
      ];
      for (const [method, path, body] of cases) {
        const res = await call(method, path, body);
        expect({ body, status: res.status }).toEqual({ body, status: 422 });
        const json = (await res.json()) as { error: string; issues: unknown[] };
        expect(json.error).toBe("Validation failed");
        expect(json.issues.length).toBeGreaterThan(0);
      }
      for (const query of ["limit=0", "limit=101", "limit=x", "cursor=%21%21"]) {
        const res = await call("GET", `/api/todos?${query}`);
        expect({ query, status: res.status }).toEqual({ query, status: 422 });
      }
      const malformed = await call("POST", "/api/todos", undefined, '{"title": "no end');
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: string }).error).toContain("JSON");
    });

    test("GET lists in id order with keyset pagination; nextCursor is null on the last page", async () => {
      for (const title of ["p1", "p2", "p3", "p4", "p5"]) await create(title);
      const all: Todo[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await call("GET", `/api/todos?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
        expect(res.status).toBe(200);
        const page = (await res.json()) as { items: Todo[]; nextCursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(2);
        all.push(...page.items);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor && pages < 100);
      const ids = all.map((t) => t.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
      expect(all.slice(-5).map((t) => t.title)).toEqual(["p1", "p2", "p3", "p4", "p5"]);
      const whole = (await (await call("GET", "/api/todos?limit=100")).json()) as {
        items: Todo[];
        nextCursor: string | null;
      };
      expect(whole.items.map((t) => t.id)).toEqual(ids);
      expect(whole.nextCursor).toBeNull();
    });
  });
}
