/**
 * Reads the manifests of deploy/kubernetes/ and validates each against the Kubernetes OpenAPI
 * schemas that the `kubernetes-models` package compiles (types, required fields, enums).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Secret, Service } from "kubernetes-models/v1";
import { ROOT } from "./fleet.ts";

export const KUBERNETES_DIR = join(ROOT, "deploy", "kubernetes");

/** A manifest as parsed from YAML: what the tests read and what the models validate. */
export type Manifest = { apiVersion: string; kind: string } & Record<string, unknown>;

const MODELS: Record<string, (manifest: never) => { validate(): void }> = {
  "apps/v1 Deployment": (m) => new Deployment(m),
  "v1 Service": (m) => new Service(m),
  "v1 Secret": (m) => new Secret(m),
  "policy/v1 PodDisruptionBudget": (m) => new PodDisruptionBudget(m),
  "autoscaling/v2 HorizontalPodAutoscaler": (m) => new HorizontalPodAutoscaler(m),
};

/** Throws, naming what is wrong, unless `manifest` is a valid object of a kind we know. */
export function validateManifest(manifest: Manifest): void {
  const model = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
  if (!model) throw new Error(`no schema here for ${manifest.apiVersion} ${manifest.kind}`);
  model(manifest as never).validate();
}

/** Every `*.yaml` of deploy/kubernetes/ but the kustomization, by file name. */
export async function readManifests(): Promise<Map<string, Manifest>> {
  const files = readdirSync(KUBERNETES_DIR).filter(
    (name) => name.endsWith(".yaml") && name !== "kustomization.yaml",
  );
  const manifests = new Map<string, Manifest>();
  for (const name of files.sort()) {
    const text = await Bun.file(join(KUBERNETES_DIR, name)).text();
    manifests.set(name, Bun.YAML.parse(text) as Manifest);
  }
  return manifests;
}

/** CPU quantity ("2", "1.5", "500m") in cores. */
export function cores(quantity: string | number): number {
  const text = String(quantity);
  return text.endsWith("m") ? Number(text.slice(0, -1)) / 1000 : Number(text);
}
