/** Prints the README's configuration table from the settings declarations (`bun scripts/config-table.ts`). */
import { markdownTable } from "../workers/primary/config/settings.ts";

console.log(markdownTable());
