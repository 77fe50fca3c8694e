/**
 * Prints the README's settings tables from the declarations (`bun scripts/config-table.ts`): the
 * fleet's settings, then the app's (app/config.ts, through the hooks module's `settings`).
 */

import { settings } from "../app/config.ts";
import { appMarkdownTable, appSettingRows } from "../workers/primary/config/app-settings.ts";
import { markdownTable } from "../workers/primary/config/settings.ts";

console.log(markdownTable());
console.log();
console.log(appMarkdownTable(appSettingRows(settings)));
