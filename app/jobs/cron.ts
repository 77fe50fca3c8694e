/**
 * Cron expressions (croner): 5 fields, or 6 with seconds first; always in UTC, so every host
 * computes the same ticks whatever its time zone.
 */
import { Cron } from "croner";

/** Parses a cron expression; throws on a bad one. */
export function parseCron(expression: string): Cron {
  return new Cron(expression, { timezone: "Etc/UTC", paused: true });
}

/** What is wrong with a cron expression, or null. */
export function cronProblem(expression: string): string | null {
  try {
    const cron = parseCron(expression);
    return cron.nextRun() ? null : "is a cron expression that never fires again";
  } catch (error) {
    return `is not a cron expression (5 fields, or 6 with seconds first): ${(error as Error).message}`;
  }
}

/** The first tick strictly after `after` (epoch ms), or null when the expression has no more. */
export function nextTick(cron: Cron, after: number): number | null {
  const next = cron.nextRun(new Date(after));
  return next ? next.getTime() : null;
}
