import { cpSync, existsSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./fleet.ts";

/**
 * A copy of `entries` of the project (paths from its root; missing ones skipped) in a fresh
 * temporary folder named `prefix…`, with the project's node_modules linked in: a tree a test
 * can edit, build or run as a user would. Never copies test/output (the build cache). The caller
 * removes the folder.
 */
export function copyProject(prefix: string, entries: string[]): string {
  const copy = mkdtempSync(join(tmpdir(), prefix));
  const output = join(ROOT, "test", "output");
  for (const entry of entries) {
    if (!existsSync(join(ROOT, entry))) continue;
    cpSync(join(ROOT, entry), join(copy, entry), {
      recursive: true,
      filter: (source) => !source.startsWith(output),
    });
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  return copy;
}
