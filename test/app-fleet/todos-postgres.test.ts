import { closeDb } from "../../app/db/index.ts";
import { todosSuite } from "../app/todos-suite.ts";
import { postgresForFile } from "../helpers/postgres.ts";

/** /api/todos through the real app (app.request) on a throwaway PostgreSQL; on SQLite: test/app/. */

const { pg } = postgresForFile("bun-fleet-todos-pg-", {
  beforeStop: () => closeDb(Date.now() + 1000),
});

todosSuite("postgres", () => pg().url("todos"));
