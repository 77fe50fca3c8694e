/** `bun run reload`: a rolling reload (POST /admin/reload), waiting for its outcome. */
import type { FleetStatus } from "../workers/primary/observe/status.ts";
import {
  adminFetch,
  CliError,
  COMMON_OPTIONS,
  cliArgs,
  resolveTarget,
  runCli,
} from "./cli/target.ts";

const USAGE = `Usage: bun run reload [-- --no-wait]
Replaces every worker and extra one slot at a time (POST /admin/reload), then says how it ended.
${COMMON_OPTIONS}`;

const WAIT_MS = 300_000;

await runCli(async () => {
  const { values } = cliArgs(process.argv.slice(2), USAGE, { "no-wait": { type: "boolean" } });
  const target = resolveTarget(values);
  const lastReload = async () =>
    ((await adminFetch(target, "/admin/status")) as FleetStatus).fleet.lastReload;
  const before = (await lastReload())?.startedAt ?? null;
  await adminFetch(target, "/admin/reload", { method: "POST" });
  console.log(`reloading the fleet at ${target.url}`);
  if (values["no-wait"]) return;
  const deadline = performance.now() + WAIT_MS;
  while (performance.now() < deadline) {
    await Bun.sleep(200);
    const last = await lastReload();
    if (!last || last.startedAt === before || last.outcome === "running") continue;
    if (last.outcome === "aborted") {
      throw new CliError("reload aborted: the old workers keep serving (see the fleet's log)");
    }
    console.log(`reload complete (${last.startedAt} -> ${last.finishedAt})`);
    return;
  }
  throw new CliError(`the reload did not finish within ${WAIT_MS / 1000} s`);
});
