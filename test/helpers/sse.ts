import { expect } from "bun:test";
import { type Fleet, waitFor } from "./fleet.ts";

/**
 * Opens an SSE stream, reads it in the background until it ends or is cut, and resolves once its
 * first event (or comment) arrived. Bun sends a streaming response's headers with its first
 * chunk, so a route under test should write something at once (see README "Write at once").
 * `close()` goes away as a browser tab does (the stream then ends as "cut").
 */
export async function openStream(fleet: Fleet, path: string) {
  const client = new AbortController();
  const res = await fetch(fleet.url(path), { signal: client.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const { ended, text } = readBody(res);
  await waitFor(`the first event on ${path}`, () => text().includes("\n\n"));
  return { ended, text, close: () => client.abort() };
}

/**
 * Reads a response body in the background: `text()` is what arrived so far, `ended` resolves
 * "ended" when the body ends and "cut" when it breaks off.
 */
export function readBody(res: Response) {
  let text = "";
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for await (const chunk of res.body ?? []) text += decoder.decode(chunk, { stream: true });
      return "ended" as const;
    } catch {
      return "cut" as const;
    }
  })();
  return { ended, text: () => text };
}
