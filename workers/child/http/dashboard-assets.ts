import { readFileSync } from "node:fs";
import type { Context } from "hono";

/**
 * The dashboard's charts (dashboard-charts.js) and their library (uPlot, ~50 KB minified), served by the fleet itself from the
 * installed package: no CDN, and the page's CSP allows scripts and styles from this origin only.
 * Read once per worker on first use; the files hold no fleet data, so no token is asked.
 */
const ASSETS: Record<string, { file: string; type: string }> = {
  "uplot.js": { file: "uplot/dist/uPlot.iife.min.js", type: "text/javascript; charset=utf-8" },
  "uplot.css": { file: "uplot/dist/uPlot.min.css", type: "text/css; charset=utf-8" },
  "charts.js": { file: "./dashboard-charts.js", type: "text/javascript; charset=utf-8" },
};

/** Where the assets are served: `/admin/assets/<name>`. */
export const ASSET_PREFIX = "/admin/assets/";

const loaded = new Map<string, string>();

/** `GET /admin/assets/:name`: a known asset, or 404 JSON. */
export function dashboardAsset(c: Context): Response {
  const name = c.req.param("name") ?? "";
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return c.json({ error: "Not Found" }, 404);
  let body = loaded.get(name);
  if (body === undefined) {
    body = readFileSync(Bun.resolveSync(asset.file, import.meta.dir), "utf8");
    loaded.set(name, body);
  }
  return c.body(body, 200, {
    "content-type": asset.type,
    "cache-control": "public, max-age=3600",
    "x-content-type-options": "nosniff",
  });
}
