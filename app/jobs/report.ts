/**
 * A demo job (POST /api/reports): counts the todos. Swap the body for real work (build a
 * report, send a mail); enqueue it from a route with `report.enqueue(payload, { tx })`.
 */
import { z } from "zod";
import { db } from "../db/index.ts";
import { defineJob } from "./queue.ts";

export const report = defineJob({
  name: "report",
  payload: z.object({}).strict(),
  run: async () => {
    const [row] = await db().query((sql) => sql`select count(*) as n from todos`);
    return { todos: Number(row.n) };
  },
});
