/**
 * `/api/reports`: the job demo. A report is a job (`report`, app/jobs/report.ts) that counts the
 * todos in a job process, off the request path.
 *
 *   POST /api/reports      → 202 {id, status: "queued"}
 *   GET  /api/reports/:id  → 200 {id, status, attempts, result} (result null until done) | 404
 */
import { Hono } from "hono";
import { db } from "../db/index.ts";
import { report } from "../jobs/report.ts";

/** Ids are positive integers below 2^53; anything else names no report. */
function parseId(raw: string): number | null {
  if (!/^\d{1,15}$/.test(raw)) return null;
  const id = Number(raw);
  return id >= 1 ? id : null;
}

export const reports = new Hono()
  .post("/reports", async (c) => {
    // In a transaction with whatever else the request writes: a rollback enqueues nothing.
    const id = await db().transaction((tx) => report.enqueue({}, { tx }));
    return c.json({ id, status: "queued" as const }, 202);
  })
  .get("/reports/:id", async (c) => {
    const id = parseId(c.req.param("id"));
    const rows =
      id === null
        ? []
        : await db().query(
            (sql) => sql`
              select id, status, attempts, result from jobs
              where id = ${id} and name = ${report.name}`,
          );
    const row = rows[0] as Record<string, unknown> | undefined;
    if (!row) return c.json({ error: "Not Found" }, 404);
    return c.json({
      id: Number(row.id),
      status: String(row.status),
      attempts: Number(row.attempts),
      result: row.status === "done" && row.result !== null ? JSON.parse(String(row.result)) : null,
    });
  });
