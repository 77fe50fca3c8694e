import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDb } from "../../app/db/index.ts";
import { todosSuite } from "./todos-suite.ts";

/** /api/todos through the real app (app.request) on SQLite; on PostgreSQL: test/app-fleet/. */

const tmp = mkdtempSync(join(tmpdir(), "bun-fleet-todos-"));
afterAll(async () => {
  await closeDb(Date.now() + 1000);
  rmSync(tmp, { recursive: true, force: true });
});

todosSuite("sqlite", async () => `sqlite://${join(tmp, "todos.db")}`);
