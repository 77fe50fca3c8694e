/**
 * Prints the README's settings tables from the declarations (`bun scripts/config-table.ts`): the
 * fleet's settings, then the app's (its `settings` schema, through the hooks module, as the
 * primary reads it: HOOKS_MODULE or the template's app/hooks.ts).
 */
import { join } from "node:path";
import {
  appMarkdownTable,
  appSettingRows,
  appSettingsSchema,
} from "../workers/primary/config/app-settings.ts";
import { markdownTable } from "../workers/settings.ts";

const hooksModule = process.env.HOOKS_MODULE ?? join(import.meta.dir, "..", "app", "hooks.ts");
const schema = appSettingsSchema(await import(hooksModule), hooksModule);

console.log(markdownTable());
if (schema) {
  console.log();
  console.log(appMarkdownTable(appSettingRows(schema)));
}
