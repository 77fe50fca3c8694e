import { describe, expect, test } from "bun:test";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { SETTINGS } from "../../workers/settings.ts";
import { projectFile } from "../helpers/deploy.ts";
import { readManifests } from "../helpers/kubernetes.ts";

/**
 * A balancer must never reuse a keep-alive connection to a fleet after the fleet may have closed
 * it for idling: the request then meets a closed connection (a 502 for a POST, which no balancer
 * retries). The shipped configs are checked against that rule (deploy/README.md, Balancer
 * timeouts).
 */

/**
 * The earliest a fleet closes an idle connection, in seconds: Bun counts `idleTimeout` in 4 s
 * ticks, rounded up, and the first tick may come at once (measured on Bun 1.4.5: 8.95-12.01 s for
 * 10, 16.17-20.00 s for 20, over 30 connections each).
 */
const earliestIdleCloseS = (idleTimeoutS: number) => 4 * Math.ceil(idleTimeoutS / 4) - 4;

/** An HAProxy time (`10s`, `500ms`, `1m`; a bare number is milliseconds) in seconds. */
function haproxySeconds(value: string): number {
  const match = /^(\d+)(us|ms|s|m|h|d)?$/.exec(value);
  if (!match) throw new Error(`not an HAProxy time: ${value}`);
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 }[match[2] ?? "ms"] ?? 1e-3;
  return Number(match[1]) * unit;
}

/** Each section of an HAProxy config (`defaults`, `backend fleets`, …) and its lines. */
function haproxySections(config: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const raw of config.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    if (/^\S/.test(raw)) {
      current = [];
      sections.set(line, current);
    } else current.push(line);
  }
  return sections;
}

const IDLE_DEFAULT = SETTINGS.idleTimeoutS.default;

describe("balancer timeouts against IDLE_TIMEOUT_S", () => {
  test("the earliest idle close: 8 s for the default 10, 72 s for 75", () => {
    expect(IDLE_DEFAULT).toBe(10);
    expect(earliestIdleCloseS(10)).toBe(8);
    expect(earliestIdleCloseS(20)).toBe(16);
    expect(earliestIdleCloseS(75)).toBe(72);
  });

  test("shipped HAProxy: a server connection is one client's, idle at most http-keep-alive + http-request, under the default IDLE_TIMEOUT_S's earliest close", async () => {
    const sections = haproxySections(await projectFile("deploy/haproxy/haproxy.cfg"));
    const lines = (name: string) => sections.get(name) ?? [];
    const timeout = (name: string) => {
      const found = [...lines("frontend www"), ...lines("defaults")].find((l) =>
        l.startsWith(`timeout ${name} `),
      );
      if (!found) throw new Error(`haproxy.cfg sets no timeout ${name}`);
      return haproxySeconds(found.split(/\s+/)[2] as string);
    };
    // Shared idle connections ("safe", the default) live until a purge: no bound at all.
    expect([...lines("backend fleets"), ...lines("defaults")]).toContain("http-reuse never");
    const idleAtMost = timeout("http-keep-alive") + timeout("http-request");
    expect(idleAtMost).toBe(6);
    expect(idleAtMost).toBeLessThan(earliestIdleCloseS(IDLE_DEFAULT));
  });

  test("shipped systemd unit keeps the default the HAProxy config is checked against", async () => {
    const unit = await projectFile("deploy/systemd/bun-fleet.service");
    const set = /^Environment=IDLE_TIMEOUT_S=(\d+)$/m.exec(unit)?.[1];
    expect(Number(set ?? IDLE_DEFAULT)).toBe(IDLE_DEFAULT);
  });

  test("shipped Kubernetes Deployment outlasts the 60 s idle timeout of an AWS ALB or ingress-nginx", async () => {
    const deployment = (await readManifests()).get("deployment.yaml") as IDeployment | undefined;
    const env = deployment?.spec?.template.spec?.containers[0]?.env ?? [];
    const idle = Number(env.find((e) => e.name === "IDLE_TIMEOUT_S")?.value ?? IDLE_DEFAULT);
    expect(earliestIdleCloseS(idle)).toBeGreaterThan(60);
  });
});
