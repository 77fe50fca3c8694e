import { dirname, resolve } from "node:path";
import type { Json } from "../../fleet.ts";
import {
  type ChildSettingKey,
  type GivenSettings,
  SETTINGS,
  type SettingSpec,
  type Settings,
  settingDefaults,
  settingEntries,
} from "../../settings.ts";
import { type ChildSettings, MAX_CONTEXT_BYTES } from "../../worker-init.ts";
import { ArgvError, type FlagKind, type Flags, parseFlags } from "./argv.ts";
import { resolveTls } from "./tls.ts";

/** The primary's own settings (those children do not take), less the ones resolved below. */
type PrimarySettings = Omit<
  Settings,
  | ChildSettingKey
  | "workers"
  | "contexts"
  | "contextsFile"
  | "pidFile"
  | "pubsubUrl"
  | "tlsCertFile"
  | "tlsKeyFile"
>;

/**
 * The primary's resolved configuration: the settings children take as they are (ChildSettings,
 * shared with them) and the primary's own (both typed by SETTINGS), plus what is resolved here.
 */
export interface FleetConfig extends ChildSettings, PrimarySettings {
  workers: number;
  /** One entry per worker, or null when no contexts were configured. */
  contexts: Json[] | null;
  /** True when ADMIN_TOKEN was unset and a random one was made (the banner prints it). */
  adminTokenGenerated: boolean;
  /** Absolute path of the primary's pid file, or null for none. */
  pidFile: string | null;
  /** Redis URL for fleet-to-fleet pub/sub, or null (this fleet only). */
  pubsubUrl: string | null;
}

/** Everything config depends on, passed in so resolution stays a pure function. */
export interface ConfigInput {
  argv: string[];
  env: Record<string, string | undefined>;
  platform: string;
  cpus: number;
  cwd: string;
  /** Project root: where default module paths resolve. */
  root: string;
  readFile: (path: string) => string;
  exists: (path: string) => boolean;
  /** `bun run dev` (default false). */
  dev?: boolean;
}

export type ConfigResult =
  | { kind: "ok"; config: FleetConfig; warnings: string[] }
  | { kind: "help" }
  | { kind: "error"; message: string };

class ConfigError extends Error {}

const entries = settingEntries();

/** Reads flags (winning) and env into validated values; throws ConfigError naming the setting. */
function readGiven(argv: string[], env: ConfigInput["env"]): GivenSettings | "help" {
  const known: Record<string, FlagKind> = { help: "boolean" };
  for (const [, spec] of entries)
    if (spec.flag) known[spec.flag] = spec.boolean ? "boolean" : "string";
  let flags: Flags;
  try {
    flags = parseFlags(argv, known);
  } catch (error) {
    if (error instanceof ArgvError) throw new ConfigError(error.message);
    throw error;
  }
  if (flags.help) return "help";

  const given: Record<string, unknown> = {};
  for (const [key, spec] of entries) {
    const flagValue = spec.flag ? flags[spec.flag] : undefined;
    const fromFlag = flagValue === true ? "true" : flagValue;
    const fromEnv = env[spec.env] === "" ? undefined : env[spec.env];
    const raw = fromFlag ?? fromEnv;
    if (raw === undefined) continue;
    const label = fromFlag !== undefined ? `--${spec.flag}` : spec.env;
    given[key] = validate(spec, raw, label, key !== "adminToken");
  }
  return given as GivenSettings;
}

function validate<T>(spec: SettingSpec<T>, raw: string, label: string, echo: boolean): T {
  const result = spec.parse(raw);
  if (result.ok) return result.value;
  const shown = echo ? `=${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw)}` : "";
  throw new ConfigError(`${label}${shown}: ${result.error}`);
}

function readContexts(given: GivenSettings, input: ConfigInput): Json[] | null {
  if (given.contexts && given.contextsFile) {
    throw new ConfigError("WORKER_CONTEXTS and WORKER_CONTEXTS_FILE are both set: use one");
  }
  let contexts: Json[] | null = (given.contexts as Json[] | undefined) ?? null;
  if (given.contextsFile) {
    const file = resolve(input.cwd, given.contextsFile);
    let text: string;
    try {
      text = input.readFile(file);
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      throw new ConfigError(`WORKER_CONTEXTS_FILE: cannot read ${given.contextsFile} (${code})`);
    }
    const label = `WORKER_CONTEXTS_FILE (${given.contextsFile})`;
    contexts = validate(SETTINGS.contexts, text, label, false) as Json[];
  }
  contexts?.forEach((entry, i) => {
    const bytes = Buffer.byteLength(JSON.stringify(entry));
    if (bytes > MAX_CONTEXT_BYTES) {
      throw new ConfigError(
        `WORKER_CONTEXTS entry ${i} is ${bytes} bytes of JSON; entries travel in env, keep each under ${MAX_CONTEXT_BYTES}`,
      );
    }
  });
  return contexts;
}

function modulePath(given: string | undefined, fallback: string, env: string, input: ConfigInput) {
  const path = given === undefined ? resolve(input.root, fallback) : resolve(input.cwd, given);
  if (!input.exists(path)) throw new ConfigError(`${env}: no such file ${given ?? fallback}`);
  return path; // resolve() always returns an absolute path
}

function pidFilePath(given: string | undefined, input: ConfigInput): string | null {
  if (given === undefined) return null;
  const path = resolve(input.cwd, given);
  if (!input.exists(dirname(path))) {
    throw new ConfigError(`PID_FILE: no such directory ${dirname(given) || "."}`);
  }
  return path;
}

/** 32 URL-safe characters from 24 random bytes (Web Crypto: node:crypto costs ~6 MB of RSS). */
function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
}

/** Resolves flags + env into a FleetConfig, or one line naming what is wrong. */
export function resolveConfig(input: ConfigInput): ConfigResult {
  const warnings: string[] = [];
  try {
    const given = readGiven(input.argv, input.env);
    if (given === "help") return { kind: "help" };
    const contexts = readContexts(given, input);
    if (given.workers !== undefined && contexts && contexts.length !== given.workers) {
      throw new ConfigError(
        `WORKER_CONTEXTS has ${contexts.length} entries but WORKERS is ${given.workers}: give one context per worker`,
      );
    }
    const linux = input.platform === "linux";
    let workers = given.workers ?? contexts?.length ?? (linux ? Math.max(1, input.cpus) : 1);
    if (!linux && workers > 1) {
      warnings.push(
        `reusePort load balancing is Linux-only; running 1 worker on ${input.platform} instead of ${workers}`,
      );
      workers = 1;
    }
    const {
      contextsFile: _file,
      contexts: _contexts,
      tlsCertFile,
      tlsKeyFile,
      ...values
    } = {
      ...settingDefaults(),
      ...given,
    };
    const tls = resolveTls({
      certFile: tlsCertFile,
      keyFile: tlsKeyFile,
      cwd: input.cwd,
      readFile: input.readFile,
    });
    if (typeof tls === "string") throw new ConfigError(tls);
    const config: FleetConfig = {
      ...values,
      tls,
      dev: input.dev ?? false,
      workers,
      contexts: contexts?.slice(0, workers) ?? null,
      adminToken: given.adminToken ?? randomToken(),
      adminTokenGenerated: given.adminToken === undefined,
      pidFile: pidFilePath(given.pidFile, input),
      pubsubUrl: given.pubsubUrl ?? null,
      appModule: modulePath(given.appModule, SETTINGS.appModule.default, "APP_MODULE", input),
      hooksModule: modulePath(
        given.hooksModule,
        SETTINGS.hooksModule.default,
        "HOOKS_MODULE",
        input,
      ),
    };
    return { kind: "ok", config, warnings };
  } catch (error) {
    if (error instanceof ConfigError) return { kind: "error", message: error.message };
    throw error;
  }
}
