import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { $ZodIssue } from "zod/v4/core";
import { DatabaseUnavailable } from "./db/index.ts";
import { requestId } from "./response-headers.ts";

/** Unknown route → 404 JSON. */
export const notFound: NotFoundHandler = (c) => c.json({ error: "Not Found" }, 404);

/**
 * Every error takes this one path. HTTP errors (malformed JSON, auth) keep their status and
 * message; anything else is a 500 whose body names only the request id. The stack goes to the
 * server log, never to the client.
 */
export const onError: ErrorHandler = (error, c) => {
  if (error instanceof HTTPException) {
    if (error.res) return error.getResponse();
    return c.json({ error: error.message || "Request failed" }, error.status);
  }
  // The database refused (down, full, timed out, locked): retry later (logged once per outage
  // by app/db).
  if (error instanceof DatabaseUnavailable) {
    c.header("Retry-After", String(error.retryAfterS));
    return c.json({ error: "Service Unavailable" }, 503);
  }
  const id = requestId(c);
  console.error(`request ${id} failed:`, error);
  return c.json({ error: "Internal Server Error", requestId: id }, 500);
};

/**
 * `@hono/zod-validator` hook: a failed schema is a 422 whose `issues` are JSON objects (the
 * default with zod 4 would be a JSON string inside JSON).
 */
export function validationFailed(
  result: { success: true } | { success: false; error: { issues: $ZodIssue[] } },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const issues = result.error.issues.map(({ code, path, message }) => ({ code, path, message }));
  return c.json({ error: "Validation failed", issues }, 422);
}
