/** `bun migrate-dir.ts DATABASE_URL DIR`: app/db's migrate() on DIR; prints the versions it applied. */

import { migrate } from "../../app/db/migrate.ts";
import { parseDatabaseUrl } from "../../app/db/url.ts";

const [url, dir = "."] = process.argv.slice(2);
const target = parseDatabaseUrl(url);
if ("error" in target) throw new Error(target.error);
try {
  const { applied } = await migrate(target, { dir });
  console.log(JSON.stringify(applied.map((m) => m.version)));
} catch (error) {
  console.error((error as Error).message);
  process.exit(3);
}
