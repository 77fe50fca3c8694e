/**
 * The app's jobs: each module in app/jobs/ that defines one (`defineJob`) is listed here, so
 * the job processes know how to run it. A job with `cron` is also a schedule.
 */
import { purgeDoneTodos } from "./purge-done-todos.ts";
import type { Job } from "./queue.ts";
import { report } from "./report.ts";

export const jobs: Job[] = [report, purgeDoneTodos] as Job[];
