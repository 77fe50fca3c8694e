/** Small readers shared by the tests of the deploy files (Dockerfile, compose, systemd, k8s). */
import { join } from "node:path";
import { FLEET_PATHS } from "../../workers/child/http/fleet-routes.ts";
import { ROOT } from "./fleet.ts";

/** The text of a project file. */
export const projectFile = (path: string) => Bun.file(join(ROOT, path)).text();

/** True when the fleet itself answers `path` (`/healthz`, `/readyz`, `/admin/...`). */
export function isFleetPath(path: string): boolean {
  return FLEET_PATHS.some((route) =>
    route.endsWith("/*") ? path.startsWith(route.slice(0, -1)) : path === route,
  );
}

/** Seconds in a duration written as `15s`, `1m30s`, `500ms` or a bare number of seconds. */
export function seconds(duration: string | number): number {
  if (typeof duration === "number") return duration;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, min: 60 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)\s*(ms|min|h|m|s)?/g)];
  if (parts.length === 0) throw new Error(`not a duration: ${duration}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * (units[unit ?? "s"] ?? 1), 0);
}
