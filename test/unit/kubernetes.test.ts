import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IProbe } from "kubernetes-models/v1/Probe";
import type { ISecret } from "kubernetes-models/v1/Secret";
import type { IService } from "kubernetes-models/v1/Service";
import { KILL_GRACE_MS } from "../../workers/primary/primary.ts";
import { SETTINGS } from "../../workers/settings.ts";
import { isFleetPath, projectFile } from "../helpers/deploy.ts";
import { parseDockerfile } from "../helpers/dockerfile.ts";
import {
  cores,
  KUBERNETES_DIR,
  type Manifest,
  readManifests,
  validateManifest,
} from "../helpers/kubernetes.ts";

const manifests = await readManifests();
const byKind = <T>(kind: string) =>
  [...manifests.values()].find((m) => m.kind === kind) as unknown as T;
const deployment = byKind<IDeployment>("Deployment");
const service = byKind<IService>("Service");
const secret = byKind<ISecret>("Secret");
const pdb = byKind<IPodDisruptionBudget>("PodDisruptionBudget");
const hpa = byKind<IHorizontalPodAutoscaler>("HorizontalPodAutoscaler");
const pod = deployment.spec?.template.spec;
const container = pod?.containers[0];
const env = new Map(container?.env?.map((e) => [e.name, e]) ?? []);
const envValue = (name: string) => env.get(name)?.value;
const containerPort = container?.ports?.[0]?.containerPort;

/** The path of an HTTP probe, after checking it asks the container's own port. */
function probePath(probe: IProbe | undefined): string {
  const port = probe?.httpGet?.port;
  const named = container?.ports?.find((p) => p.name === port)?.containerPort;
  expect(typeof port === "number" ? port : named).toBe(containerPort as number);
  return probe?.httpGet?.path ?? "";
}

describe("deploy/kubernetes manifests", () => {
  test("every manifest is valid against the Kubernetes schemas", () => {
    expect([...manifests.values()].map((m) => m.kind).sort()).toEqual([
      "Deployment",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
      "Secret",
      "Service",
    ]);
    for (const [name, manifest] of manifests) {
      expect({ name, error: validateError(manifest) }).toEqual({ name, error: null });
    }
  });

  test("an invalid manifest fails validation (the check can fail)", () => {
    const containers = ["spec", "template", "spec", "containers", 0];
    expect(validateError(changed(deployment, ["spec", "replicas"], "two"))).toContain(
      "replicas must be integer",
    );
    expect(validateError(changed(deployment, [...containers, "name"], undefined))).toContain(
      "containers/0 must have required property name",
    );
    expect(validateError(changed(service, ["spec", "ports", 0, "port"], "http"))).toContain(
      "ports/0/port must be integer",
    );
  });

  test("kustomization applies everything but the example Secret", async () => {
    const kustomization = Bun.YAML.parse(
      await Bun.file(join(KUBERNETES_DIR, "kustomization.yaml")).text(),
    ) as { resources: string[] };
    const applied = [...manifests.keys()].filter((name) => name !== "secret.example.yaml");
    expect(kustomization.resources.toSorted()).toEqual(applied);
    for (const file of kustomization.resources)
      expect(existsSync(join(KUBERNETES_DIR, file))).toBe(true);
  });

  test("probes ask the fleet's own routes: /readyz for readiness, /healthz for liveness", () => {
    expect(probePath(container?.readinessProbe)).toBe("/readyz");
    expect(probePath(container?.livenessProbe)).toBe("/healthz");
    const startup = probePath(container?.startupProbe);
    for (const path of ["/readyz", "/healthz", startup]) expect(isFleetPath(path)).toBe(true);
  });

  test("the grace period covers the preStop pause, the drain deadline and the SIGKILL grace", () => {
    const preStop = container?.lifecycle?.preStop;
    const pause = preStop?.sleep?.seconds ?? Number(preStop?.exec?.command?.[1]);
    expect(preStop?.exec?.command?.[0] ?? "sleep").toBe("sleep");
    expect(pause).toBeGreaterThan(0);
    const shutdownMs = Number(
      envValue("SHUTDOWN_TIMEOUT_MS") ?? SETTINGS.shutdownTimeoutMs.default,
    );
    const needed = pause + (shutdownMs + KILL_GRACE_MS) / 1000;
    expect(pod?.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(needed);
  });

  test("container port = PORT = the Service's targetPort, and every selector finds the pods", () => {
    expect(Number(envValue("PORT"))).toBe(containerPort as number);
    expect(service.spec?.ports?.[0]?.targetPort).toBe(containerPort as number);
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    const matches = (selector: Record<string, string> = {}) =>
      Object.entries(selector).every(([key, value]) => labels[key] === value);
    expect(Object.keys(labels).length).toBeGreaterThan(0);
    expect(matches(service.spec?.selector)).toBe(true);
    expect(matches(deployment.spec?.selector.matchLabels)).toBe(true);
    expect(matches(pdb.spec?.selector?.matchLabels)).toBe(true);
    expect(hpa.spec?.scaleTargetRef).toMatchObject({
      kind: "Deployment",
      name: deployment.metadata?.name,
    });
  });

  test("WORKERS matches the CPU limit (one fleet per pod, one worker per CPU)", () => {
    const limit = container?.resources?.limits?.cpu;
    expect(limit).toBeDefined();
    expect(Number(envValue("WORKERS"))).toBe(cores(limit as string));
  });

  test("ADMIN_TOKEN comes from a key the Secret has; its placeholder is refused by the fleet", () => {
    const ref = env.get("ADMIN_TOKEN")?.valueFrom?.secretKeyRef;
    expect(ref?.name).toBe(secret.metadata?.name as string);
    const keys = Object.keys({ ...secret.data, ...secret.stringData });
    expect(keys).toContain(ref?.key as string);
    const placeholder = secret.stringData?.[ref?.key as string] ?? "";
    expect(SETTINGS.adminToken.parse(placeholder).ok).toBe(false);
  });

  test("non-root as in the image, read-only root filesystem with /tmp from an emptyDir", async () => {
    const dockerfile = parseDockerfile(await projectFile("Dockerfile"));
    const imageUser = dockerfile.findLast((i) => i.keyword === "USER")?.args.split(":")[0];
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(String(pod?.securityContext?.runAsUser)).toBe(imageUser as string);
    expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container?.securityContext?.allowPrivilegeEscalation).toBe(false);
    const tmp = container?.volumeMounts?.find((v) => v.mountPath === "/tmp");
    expect(pod?.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  test("DATABASE_URL comes from the Secret; an init container runs bun run migrate with it", async () => {
    const ref = env.get("DATABASE_URL")?.valueFrom?.secretKeyRef;
    expect(ref?.name).toBe(secret.metadata?.name as string);
    expect(Object.keys({ ...secret.data, ...secret.stringData })).toContain(ref?.key as string);
    const init = pod?.initContainers?.find((c) => c.name === "migrate");
    expect(init?.image).toBe(container?.image as string);
    expect(init?.command).toEqual(["bun", "scripts/migrate.ts"]);
    const initRef = init?.env?.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef;
    expect(initRef).toEqual(ref as NonNullable<typeof ref>);
    const copies = parseDockerfile(await projectFile("Dockerfile"))
      .filter((i) => i.keyword === "COPY")
      .map((i) => i.args);
    expect(copies.some((args) => args.includes("scripts/migrate.ts"))).toBe(true);
  });

  test("DB_MAX_CONNECTIONS per pod x (maxReplicas + surge) fits PostgreSQL's default 100", () => {
    const perPod = Number(envValue("DB_MAX_CONNECTIONS"));
    const surge = Number(deployment.spec?.strategy?.rollingUpdate?.maxSurge ?? 1);
    expect(perPod * ((hpa.spec?.maxReplicas ?? 1) + surge)).toBeLessThanOrEqual(100);
    // And each pod's share still gives every worker (+1 for reloads) a connection.
    expect(perPod).toBeGreaterThanOrEqual(Number(envValue("WORKERS")) + 1);
  });

  test("the default pod sets only sysctls Kubernetes counts as safe: it applies on a stock cluster", () => {
    for (const { name } of pod?.securityContext?.sysctls ?? [])
      expect(SAFE_SYSCTLS).toContain(name);
  });

  test("components/tcp-migrate-req opts in to net.ipv4.tcp_migrate_req=1, offered in the kustomization", async () => {
    const component = Bun.YAML.parse(await Bun.file(COMPONENT).text()) as {
      kind: string;
      patches: { target: Record<string, string>; patch: string }[];
    };
    expect(component.kind).toBe("Component");
    expect(component.patches).toHaveLength(1);
    const [{ target, patch }] = component.patches as [
      { target: Record<string, string>; patch: string },
    ];
    expect(target).toMatchObject({ kind: "Deployment", name: deployment.metadata?.name as string });
    const patched = applyJsonPatch(deployment, Bun.YAML.parse(patch) as JsonPatch[]);
    expect(validateError(patched)).toBeNull();
    const spec = (patched as unknown as IDeployment).spec?.template.spec;
    expect(spec?.securityContext?.sysctls).toEqual([
      { name: "net.ipv4.tcp_migrate_req", value: "1" },
    ]);
    const kustomization = await Bun.file(join(KUBERNETES_DIR, "kustomization.yaml")).text();
    expect(kustomization).toContain("# components:\n#   - components/tcp-migrate-req\n");
  });

  test.skipIf(!Bun.which("kubectl"))(
    "kubectl kustomize renders no sysctl by default, and the sysctl with the component",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "fleet-kustomize-"));
      try {
        cpSync(KUBERNETES_DIR, dir, { recursive: true });
        const render = () => {
          const run = Bun.spawnSync(["kubectl", "kustomize", dir], { stderr: "pipe" });
          expect(run.stderr.toString()).toBe("");
          return run.stdout.toString();
        };
        expect(render()).not.toContain("sysctls");
        const file = join(dir, "kustomization.yaml");
        const text = readFileSync(file, "utf8");
        writeFileSync(file, text.replace("# components:\n#   - ", "components:\n  - "));
        expect(render()).toContain(
          'sysctls:\n        - name: net.ipv4.tcp_migrate_req\n          value: "1"',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

/** Kubernetes' safe sysctls (allowed without --allowed-unsafe-sysctls, as of 1.32). */
const SAFE_SYSCTLS = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
];

const COMPONENT = join(KUBERNETES_DIR, "components", "tcp-migrate-req", "kustomization.yaml");

type JsonPatch = { op: string; path: string; value: unknown };

/** The `add` operations of a JSON patch (RFC 6902) applied to a copy of `manifest`. */
function applyJsonPatch(manifest: unknown, ops: JsonPatch[]): Manifest {
  const copy = structuredClone(manifest) as Record<string, unknown>;
  for (const { op, path, value } of ops) {
    expect(op).toBe("add");
    const keys = path.split("/").slice(1);
    const last = keys.pop() as string;
    let at = copy;
    for (const key of keys) {
      expect(at[key]).toBeDefined(); // `add` needs the parent to exist
      at = at[key] as Record<string, unknown>;
    }
    at[last] = value;
  }
  return copy as Manifest;
}

/** The validation error of `manifest`, or null when it is valid. */
function validateError(manifest: Manifest): string | null {
  try {
    validateManifest(manifest);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A deep copy of `manifest` with the value at `path` replaced (`undefined` deletes it). */
function changed(manifest: unknown, path: (string | number)[], value: unknown): Manifest {
  const copy = structuredClone(manifest) as Manifest;
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const leaf = path.at(-1) as string | number;
  if (value === undefined) delete node[leaf];
  else node[leaf] = value;
  return copy;
}
