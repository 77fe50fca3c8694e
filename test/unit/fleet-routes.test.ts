import { describe, expect, test } from "bun:test";
import type { StopReason } from "../../app/fleet.ts";
import { fleetRoutes } from "../../workers/fleet-routes.ts";

const TOKEN = "unit-test-token-0123456789";

function routes(draining = false) {
  const stops: StopReason[] = [];
  const app = fleetRoutes({
    adminToken: TOKEN,
    isDraining: () => draining,
    requestStop: (reason) => stops.push(reason),
  });
  return { app, stops };
}

const stop = (app: ReturnType<typeof routes>["app"], authorization?: string) =>
  app.request("/admin/stop", {
    method: "POST",
    headers: authorization ? { authorization } : {},
  });

describe("fleet routes", () => {
  test("/healthz is ok; /readyz is 200 while serving and 503 once draining", async () => {
    expect(await (await routes().app.request("/healthz")).json()).toEqual({ status: "ok" });
    expect((await routes(false).app.request("/readyz")).status).toBe(200);
    const draining = await routes(true).app.request("/readyz");
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: "draining" });
  });

  test("/admin/stop needs the bearer token", async () => {
    const { app, stops } = routes();
    expect((await stop(app)).status).toBe(401);
    expect((await stop(app, "Bearer wrong-token-wrong-token")).status).toBe(401);
    expect((await stop(app, `Basic ${TOKEN}`)).status).toBe(400);
    expect(stops).toEqual([]);
    const ok = await stop(app, `Bearer ${TOKEN}`);
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ status: "stopping" });
    expect(stops).toEqual(["admin-stop"]);
  });

  test("GET /admin/stop is not a way to stop", async () => {
    const { app, stops } = routes();
    expect((await app.request("/admin/stop")).status).toBe(404);
    expect(stops).toEqual([]);
  });
});
