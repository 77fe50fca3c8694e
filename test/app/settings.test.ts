import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settings } from "../../app/config.ts";
import { appMarkdownTable, appSettingRows } from "../../workers/primary/config/app-settings.ts";

test("the README's app settings table is the one derived from app/config.ts", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
  const start = readme.indexOf("| app setting (env) | default | meaning |");
  const end = readme.indexOf("\n\n", start);
  // On failure: paste the second table `bun scripts/config-table.ts` prints into README.md's
  // settings section, or delete this check (test/app/settings.test.ts).
  expect(readme.slice(start, end)).toBe(appMarkdownTable(appSettingRows(settings)));
});
