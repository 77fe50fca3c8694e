import { describe, expect, test } from "bun:test";
import { fleetRoutes } from "../../workers/child/http/fleet-routes.ts";
import type { StopReason } from "../../workers/fleet.ts";

const TOKEN = "unit-test-token-0123456789";

function routes(draining = false) {
  const stops: StopReason[] = [];
  const asked: string[] = [];
  const app = fleetRoutes({
    adminToken: TOKEN,
    isDraining: () => draining,
    requestStop: (reason) => stops.push(reason),
    requestReload: () => asked.push("reload"),
    requestScale: (workers) => asked.push(`scale:${workers}`),
  });
  return { app, stops, asked };
}

const admin = (app: ReturnType<typeof routes>["app"], path: string, body?: string, token = TOKEN) =>
  app.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body }),
  });

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

  test("GET /admin/stop is not a way to stop; unknown admin paths need the token too", async () => {
    const { app, stops } = routes();
    const get = await app.request("/admin/stop", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(get.status).toBe(404);
    expect((await app.request("/admin/anything")).status).toBe(401);
    expect(stops).toEqual([]);
  });

  test("/admin/reload needs the token, answers 202 and asks for a reload", async () => {
    const { app, asked } = routes();
    expect((await admin(app, "/admin/reload", undefined, "wrong-token-wrong-token")).status).toBe(
      401,
    );
    const res = await admin(app, "/admin/reload");
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: "reloading" });
    expect(asked).toEqual(["reload"]);
    expect((await admin(routes(true).app, "/admin/reload")).status).toBe(409);
  });

  test("/admin/scale takes {workers: N}; nonsense is 422 JSON and asks nothing", async () => {
    const { app, asked } = routes();
    for (const body of [
      '{"workers":0}',
      '{"workers":2.5}',
      '{"workers":"3"}',
      "{}",
      '{"workers":2,"x":1}',
    ]) {
      const res = await admin(app, "/admin/scale", body);
      expect({ body, status: res.status }).toEqual({ body, status: 422 });
      expect(Array.isArray(((await res.json()) as { issues: unknown }).issues)).toBe(true);
    }
    const malformed = await admin(app, "/admin/scale", '{"workers":');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: "Malformed JSON in request body" });
    expect(asked).toEqual([]);
    const ok = await admin(app, "/admin/scale", '{"workers":3}');
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ status: "scaling", workers: 3 });
    expect(asked).toEqual(["scale:3"]);
  });
});

describe("GET /admin/jobs", () => {
  const withJobs = (jobs?: () => unknown) =>
    fleetRoutes({
      adminToken: TOKEN,
      isDraining: () => false,
      requestStop: () => {},
      requestReload: () => {},
      requestScale: () => {},
      jobs,
    });
  const get = (app: ReturnType<typeof withJobs>, token: string | null = TOKEN) =>
    app.request("/admin/jobs", token ? { headers: { authorization: `Bearer ${token}` } } : {});

  test("answers the hooks module's jobs JSON, behind the token", async () => {
    const app = withJobs(async () => ({ queues: [], schedules: [{ name: "s", runs: [] }] }));
    const ok = await get(app);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ queues: [], schedules: [{ name: "s", runs: [] }] });
    expect((await get(app, null)).status).toBe(401);
    expect((await get(app, "wrong-token-0123456789")).status).toBe(401);
  });

  test("a jobs hook that throws is 503 naming its error; without the hook, no queues and no schedules", async () => {
    const failing = await get(
      withJobs(() => {
        throw new Error("database is down");
      }),
    );
    expect(failing.status).toBe(503);
    expect(await failing.json()).toEqual({
      error: "Service Unavailable: jobs hook: database is down",
    });
    const none = await get(withJobs());
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ queues: [], schedules: [] });
  });
});
