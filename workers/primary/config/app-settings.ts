import type { Json } from "../../fleet.ts";
import { shown } from "../../modules.ts";

/**
 * The app's own settings: the hooks module may export `settings`, an object schema (zod's
 * `z.object({...})`, or anything with the same `shape` + `safeParse`) whose keys are env names.
 * The setup process (start/setup-main.ts) reads them once from env, checks them before any
 * worker starts (exit 2 naming the setting), `--help` lists them and the README, and hands the parsed values to every
 * worker and extra as `worker.config`. The runtime never imports zod itself: it only calls the
 * schema the app exports.
 */

/** One field of the schema: its description (zod's `.describe()`) and its own parser. */
interface FieldSchema {
  description?: string;
  safeParse(value: unknown): { success: boolean; data?: unknown };
}

/** What the runtime needs of the app's schema. */
export interface AppSettingsSchema {
  shape: Record<string, FieldSchema>;
  safeParse(value: unknown): {
    success: boolean;
    data?: unknown;
    error?: { issues: { path: PropertyKey[]; message: string }[] };
  };
}

/** The app's settings as workers get them (plain JSON; unset optional settings are absent). */
export type AppConfig = Record<string, Json>;

/** One app setting, as `--help` and the README show it. */
export interface AppSettingRow {
  env: string;
  defaultText: string;
  description: string;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The hooks module's `settings` export, checked; null when it has none. Throws naming it. */
export function appSettingsSchema(
  mod: Record<string, unknown>,
  hooksModule: string,
): AppSettingsSchema | null {
  const value = mod.settings as Partial<AppSettingsSchema> | undefined;
  if (value === undefined) return null;
  const where = `HOOKS_MODULE ${shown(hooksModule)}: export "settings"`;
  if (
    typeof value !== "object" ||
    value === null ||
    typeof value.safeParse !== "function" ||
    typeof value.shape !== "object" ||
    value.shape === null
  ) {
    throw new Error(`${where} must be an object schema (z.object({...}))`);
  }
  for (const key of Object.keys(value.shape)) {
    if (!ENV_NAME.test(key)) {
      throw new Error(`${where}: key "${key}" must be an env name (A-Z, 0-9, _)`);
    }
  }
  return value as AppSettingsSchema;
}

/** The rows for `--help` and the README: env name, default, description. */
export function appSettingRows(schema: AppSettingsSchema): AppSettingRow[] {
  return Object.entries(schema.shape).map(([env, field]) => {
    const unset = field.safeParse(undefined);
    const defaultText = !unset.success
      ? "required"
      : unset.data === undefined
        ? "unset"
        : String(unset.data);
    return { env, defaultText, description: field.description ?? "" };
  });
}

/**
 * Reads the schema's keys from env (an empty string counts as unset, as for fleet settings) and
 * validates them: the parsed values, or one line naming the first setting that is wrong. Values
 * are never echoed: an app setting may be a secret (a URL with a password, an API key).
 */
export function readAppSettings(
  schema: AppSettingsSchema,
  env: Record<string, string | undefined>,
): { ok: true; config: AppConfig } | { ok: false; message: string } {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error?.issues[0];
    const key = issue?.path[0];
    const name = typeof key === "string" ? key : "app settings";
    return { ok: false, message: `${name}: ${issue?.message ?? "invalid"}` };
  }
  const config: Record<string, Json> = {};
  for (const [key, value] of Object.entries((result.data ?? {}) as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (value !== null && !["string", "number", "boolean"].includes(typeof value)) {
      return {
        ok: false,
        message: `${key}: the schema must produce a string, number or boolean (it reaches workers as JSON), not ${typeof value}`,
      };
    }
    config[key] = value as Json;
  }
  return { ok: true, config };
}

/** The app settings' part of `--help`. */
export function appHelpText(rows: AppSettingRow[]): string {
  if (!rows.length) return "";
  const lines = rows.map(
    (r) =>
      `  ${"(env only)".padEnd(28)} ${r.env.padEnd(22)} ${r.description} [default: ${r.defaultText}]`,
  );
  // A blank line after the fleet's settings, then the app's.
  return ["", "", "App settings (the hooks module's `settings`, app/config.ts):", ...lines].join(
    "\n",
  );
}

/** The README's app settings table. */
export function appMarkdownTable(rows: AppSettingRow[]): string {
  const lines = rows.map((r) => `| \`${r.env}\` | ${r.defaultText} | ${r.description} |`);
  return ["| app setting (env) | default | meaning |", "|---|---|---|", ...lines].join("\n");
}
