import { expect, test } from "bun:test";
import { closeDb, db } from "../../app/db/index.ts";

test("db() before openDb: the error says what a test calls (useTestDatabase)", async () => {
  await closeDb(Date.now() + 1000); // another file's client, when Bun runs files in one process
  expect(() => db()).toThrow(
    "the database is not open yet (openDb runs in onStart; a test calling routes through app.request() calls useTestDatabase() from test/app/database.ts)",
  );
});
