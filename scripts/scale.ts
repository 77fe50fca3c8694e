/** `bun run scale -- N`: run N HTTP workers (POST /admin/scale). */
import {
  adminFetch,
  CliError,
  COMMON_OPTIONS,
  cliArgs,
  resolveTarget,
  runCli,
} from "./cli/target.ts";

const USAGE = `Usage: bun run scale -- <workers>
Runs this many HTTP workers (1-1024); new ones start, removed ones retire the rolling way.
${COMMON_OPTIONS}`;

await runCli(async () => {
  const { values, positionals } = cliArgs(process.argv.slice(2), USAGE, {}, true);
  const [raw, ...rest] = positionals;
  if (raw === undefined || rest.length > 0 || !/^\d+$/.test(raw) || +raw < 1 || +raw > 1024) {
    throw new CliError("expected one worker count from 1 to 1024: bun run scale -- 4", 2);
  }
  const target = resolveTarget(values);
  await adminFetch(target, "/admin/scale", { method: "POST", body: { workers: Number(raw) } });
  console.log(`scaling the fleet at ${target.url} to ${raw} worker(s)`);
});
