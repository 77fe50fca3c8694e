/// <reference path="./dashboard-files.d.ts" />
import { readFileSync } from "node:fs";
import type { Context } from "hono";
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "file" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "file" };
import chartsJs from "./dashboard-charts.js" with { type: "file" };

/**
 * The dashboard's charts (dashboard-charts.js) and their library (uPlot, ~50 KB minified), served by the fleet itself from the
 * installed package: no CDN, and the page's CSP allows scripts and styles from this origin only.
 * Imported as files: each import is a path on disk under `bun run start`, and a path inside the
 * executable in the one-file build, which embeds every file imported this way (a path resolved at
 * run time would not be: the build answered 500 and showed no charts).
 * Read once per worker on first use; the files hold no fleet data, so no token is asked.
 */
const ASSETS: Record<string, { file: string; type: string }> = {
  "uplot.js": { file: uplotJs, type: "text/javascript; charset=utf-8" },
  "uplot.css": { file: uplotCss, type: "text/css; charset=utf-8" },
  "charts.js": { file: chartsJs, type: "text/javascript; charset=utf-8" },
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
    body = readFileSync(asset.file, "utf8");
    loaded.set(name, body);
  }
  return c.body(body, 200, {
    "content-type": asset.type,
    "cache-control": "public, max-age=3600",
    "x-content-type-options": "nosniff",
  });
}
