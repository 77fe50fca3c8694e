/** Checks that every configuration answers each route with the same status and body. */
import { cpuInput, cpuWork, ROUTES, type RouteName } from "./app.ts";
import type { Running } from "./index.ts";

const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];

/** The exact status and body every configuration must answer with, per route. */
export function expectedBodies(cpuBytes: number): Record<RouteName, string> {
  return {
    hello: "Hello, World!",
    json: JSON.stringify({ message: "Hello, World!" }),
    cpu: JSON.stringify({ bytes: cpuBytes, sha256: cpuWork(cpuInput(cpuBytes)) }),
  };
}

/**
 * Fails unless every route answers 200 with the same body as everywhere else (a raw server,
 * without Hono, has only hello and JSON).
 */
export async function checkRoutes(
  running: Running,
  expected: Record<RouteName, string>,
): Promise<void> {
  const routes = running.spec.raw ? ROUTE_NAMES.filter((r) => r !== "cpu") : ROUTE_NAMES;
  for (const route of routes) {
    const res = await fetch(running.url + ROUTES[route], { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    if (res.status !== 200 || body !== expected[route]) {
      throw new Error(
        `${running.spec.label} ${ROUTES[route]} answered ${res.status} ${JSON.stringify(body)}; expected 200 ${JSON.stringify(expected[route])}`,
      );
    }
  }
}
