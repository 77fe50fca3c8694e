/**
 * A demo schedule: every PURGE_DONE_CRON tick (app setting, default hourly), one process of the
 * whole deployment deletes the done todos last updated more than PURGE_DONE_AFTER_S ago.
 */
import { z } from "zod";
import { defineJob } from "./queue.ts";

export const purgeDoneTodos = defineJob({
  name: "purge-done-todos",
  payload: z.object({}).strict(),
  cron: (config) => config.PURGE_DONE_CRON,
  // The delete and the job's `done` commit together.
  atomic: true,
  run: async (_payload, { sql, config }) => {
    if (!sql) throw new Error("an atomic job runs in a transaction");
    const before = new Date(Date.now() - config.PURGE_DONE_AFTER_S * 1000).toISOString();
    const rows = await sql`
      delete from todos where done = ${true} and updated_at < ${before} returning id`;
    return { deleted: rows.length };
  },
});
