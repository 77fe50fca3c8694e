import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadApp } from "../../workers/child/http/loading.ts";
import { fakeWorker } from "../helpers/worker.ts";

const dir = mkdtempSync(join(tmpdir(), "fleet-loading-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const worker = fakeWorker();

/** Writes an app module and loads it as a worker would. */
function load(name: string, source: string) {
  const path = join(dir, `${name}.ts`);
  writeFileSync(path, source);
  return loadApp(path, worker);
}

const FETCH = "fetch: () => new Response('ok')";

describe("loadApp", () => {
  test("accepts Bun's { fetch, websocket } as the default export and keeps websocket", async () => {
    const app = await load(
      "bun-shape",
      `export default { ${FETCH}, websocket: { message() {} } };`,
    );
    expect(typeof app.websocket?.message).toBe("function");
  });

  test("accepts a factory returning { fetch, websocket }", async () => {
    const app = await load("factory", `export default () => ({ ${FETCH}, websocket: {} });`);
    expect(app.websocket).toEqual({});
  });

  test("refuses a websocket that is not Bun's handlers object, naming it", async () => {
    await expect(load("bad-ws", `export default { ${FETCH}, websocket: 42 };`)).rejects.toThrow(
      "`websocket` must be Bun's WebSocket handlers object (e.g. websocket from hono/bun); got number",
    );
  });
});
