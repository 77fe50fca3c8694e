import { type Context, Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import { validator } from "hono/validator";
import type { StopReason } from "../../fleet.ts";
import { ASSET_PREFIX, dashboardAsset } from "./dashboard-assets.ts";
import { dashboardPage, type ObserveOptions, observeRoutes } from "./observe-routes.ts";

/** Paths the fleet answers itself, ahead of the app (Bun matches them natively). */
export const FLEET_PATHS = ["/healthz", "/readyz", "/admin", "/admin/*", "/metrics"] as const;

/** What the fleet routes need from their worker. */
export interface FleetRouteOptions {
  adminToken: string;
  isDraining: () => boolean;
  requestStop: (reason: StopReason) => void;
  requestReload: () => void;
  requestScale: (workers: number) => void;
  /** Status and metrics; absent, those routes answer 404. */
  observe?: Omit<ObserveOptions, "adminToken">;
  /** The hooks module's `jobs` (GET /admin/jobs); absent, that route answers no queues and no schedules. */
  jobs?: (() => unknown) | undefined;
}

/** GET /admin/jobs of an app without a `jobs` hook. */
const NO_JOBS = { queues: [], schedules: [] };

/** How long GET /admin/jobs waits for the app's `jobs` hook. */
const JOBS_HOOK_TIMEOUT_MS = 5000;

/** `{"workers": N}` with N a whole number 1-1024 and nothing else; the issues, or null. */
function scaleIssues(body: unknown): { path: string[]; message: string }[] | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return [{ path: [], message: 'expected an object {"workers": N}' }];
  }
  const issues = Object.keys(body)
    .filter((key) => key !== "workers")
    .map((key) => ({ path: [key], message: "unrecognized key" }));
  const { workers } = body as { workers?: unknown };
  if (!Number.isInteger(workers) || (workers as number) < 1 || (workers as number) > 1024) {
    issues.unshift({ path: ["workers"], message: "expected a whole number from 1 to 1024" });
  }
  return issues.length ? issues : null;
}

const unauthorized = { error: "Unauthorized" };

/** `/healthz`, `/readyz` and `/admin/*`, as a small Hono app of their own. */
export function fleetRoutes(options: FleetRouteOptions): Hono {
  const { adminToken, isDraining, requestStop, requestReload, requestScale, observe, jobs } =
    options;
  const routes = new Hono();
  routes.get("/healthz", (c) => c.json({ status: "ok" }));
  routes.get("/readyz", (c) =>
    isDraining() ? c.json({ status: "draining" }, 503) : c.json({ status: "ready" }),
  );
  routes.get("/admin", dashboardPage); // ahead of the token check: the page holds no data
  routes.get(`${ASSET_PREFIX}:name`, dashboardAsset); // nor does the chart library
  routes.use(
    "/admin/*",
    bearerAuth({
      token: adminToken,
      noAuthenticationHeaderMessage: unauthorized,
      invalidTokenMessage: unauthorized,
      invalidAuthenticationHeaderMessage: {
        error: "Bad Request: expected Authorization: Bearer <token>",
      },
    }),
  );
  routes.post("/admin/stop", (c) => {
    requestStop("admin-stop");
    return c.json({ status: "stopping" }, 202);
  });
  routes.post("/admin/reload", (c) => {
    if (isDraining()) return c.json({ error: "Conflict: this worker is draining" }, 409);
    requestReload();
    return c.json({ status: "reloading" }, 202);
  });
  routes.post(
    "/admin/scale",
    validator("json", (body, c) => {
      const issues = scaleIssues(body);
      if (issues) return c.json({ error: "Validation failed", issues }, 422);
      return body as { workers: number };
    }),
    (c) => {
      if (isDraining()) return c.json({ error: "Conflict: this worker is draining" }, 409);
      const { workers } = c.req.valid("json");
      requestScale(workers);
      return c.json({ status: "scaling", workers }, 202);
    },
  );
  if (observe) observeRoutes(routes, { adminToken, ...observe });
  // Without a jobs hook the app has no jobs: an empty answer, so the dashboard (and a script)
  // need not tell "no jobs" from an error (a 404 is also a console error in every browser).
  routes.get("/admin/jobs", (c) => (jobs ? jobsAnswer(c, jobs) : c.json(NO_JOBS)));
  routes.notFound((c) => c.json({ error: "Not Found" }, 404));
  routes.onError((error, c) => {
    if (error instanceof HTTPException) {
      return error.res ? error.getResponse() : c.json({ error: error.message }, error.status);
    }
    console.error(error);
    return c.json({ error: "Internal Server Error" }, 500);
  });
  return routes;
}

/** The `jobs` hook's JSON; 503 naming the problem when it throws or does not answer in time. */
async function jobsAnswer(c: Context, jobs: () => unknown): Promise<Response> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${JOBS_HOOK_TIMEOUT_MS} ms`)),
      JOBS_HOOK_TIMEOUT_MS,
    );
  });
  try {
    const body = await Promise.race([Promise.resolve().then(jobs), late]);
    return c.json(body as object);
  } catch (error) {
    return c.json({ error: `Service Unavailable: jobs hook: ${(error as Error).message}` }, 503);
  } finally {
    clearTimeout(timer);
  }
}
