/** Prints the README's configuration table from the settings declarations (`bun scripts/config-table.ts`). */
import { markdownTable } from "../workers/settings.ts";

console.log(markdownTable());
