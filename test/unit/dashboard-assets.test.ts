import { describe, expect, test } from "bun:test";
import type { CollectAnswer } from "../../workers/child/child-runtime.ts";
import { fleetRoutes } from "../../workers/child/http/fleet-routes.ts";

const TOKEN = "unit-test-token-0123456789";

function routes(history: (since: number) => Promise<CollectAnswer> = async () => null) {
  return fleetRoutes({
    adminToken: TOKEN,
    isDraining: () => false,
    requestStop: () => {},
    requestReload: () => {},
    requestScale: () => {},
    observe: { metricsPublic: false, collect: async () => null, history },
  });
}

describe("dashboard assets and history route", () => {
  test("uPlot and the charts script are served from this origin without a token; other names 404", async () => {
    const app = routes();
    for (const [name, type] of [
      ["uplot.js", "text/javascript"],
      ["uplot.css", "text/css"],
      ["charts.js", "text/javascript"],
    ] as const) {
      const res = await app.request(`/admin/assets/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith(type);
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
    expect((await app.request("/admin/assets/uPlot.iife.min.js")).status).toBe(404);
    expect((await app.request("/admin/assets/..%2Fdashboard.html")).status).toBe(404);
    expect((await app.request("/admin/assets/constructor")).status).toBe(404);
  });

  test("the page loads its scripts from its own origin only", async () => {
    const res = await routes().request("/admin");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self' 'unsafe-inline'");
    expect(csp).toContain("default-src 'none'");
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual([
      "/admin/assets/uplot.css",
      "/admin/assets/uplot.js",
      "/admin/assets/charts.js",
    ]);
  });

  test("GET /admin/history passes ?since= to the primary; not a whole number is 400, no answer 504", async () => {
    const asked: number[] = [];
    const app = routes(async (since) => {
      asked.push(since);
      return since === 7 ? null : { ok: true, body: '{"samples":[]}' };
    });
    const get = (path: string) =>
      app.request(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect((await app.request("/admin/history")).status).toBe(401);
    const res = await get("/admin/history?since=1800000000000");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ samples: [] });
    expect((await get("/admin/history")).status).toBe(200);
    for (const bad of ["-1", "1.5", "abc", "1e400"]) {
      expect((await get(`/admin/history?since=${bad}`)).status).toBe(400);
    }
    expect((await get("/admin/history?since=7")).status).toBe(504);
    expect(asked).toEqual([1800000000000, 0, 7]);
  });
});
