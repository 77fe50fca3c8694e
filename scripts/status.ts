/** `bun run status [-- --json | --watch]`: the fleet's processes, like `pm2 ls`. */
import type { FleetStatus } from "../workers/primary/observe/status.ts";
import { statusTable } from "./cli/status-table.ts";
import {
  adminFetch,
  CliError,
  COMMON_OPTIONS,
  cliArgs,
  resolveTarget,
  runCli,
} from "./cli/target.ts";

const USAGE = `Usage: bun run status [-- --json | --watch]
Shows the fleet's primary, workers and extras (GET /admin/status).
  --json    print the status JSON
  --watch   refresh every second until Ctrl-C
${COMMON_OPTIONS}`;

await runCli(async () => {
  const { values } = cliArgs(process.argv.slice(2), USAGE, {
    json: { type: "boolean" },
    watch: { type: "boolean" },
  });
  const target = resolveTarget(values);
  const fetchStatus = async () => {
    const body = await adminFetch(target, "/admin/status");
    const { fleet, workers, extras } = (body ?? {}) as Partial<FleetStatus>;
    if (typeof fleet !== "object" || !Array.isArray(workers) || !Array.isArray(extras)) {
      throw new CliError(`${target.url} answered /admin/status with something not a fleet status`);
    }
    return body as FleetStatus;
  };
  if (!values.watch) {
    const status = await fetchStatus();
    console.log(values.json ? JSON.stringify(status, null, 2) : statusTable(status));
    return;
  }
  process.on("SIGINT", () => process.exit(0));
  for (;;) {
    let text: string;
    try {
      const status = await fetchStatus();
      text = values.json ? JSON.stringify(status) : statusTable(status);
    } catch (error) {
      if (!(error instanceof CliError) || error.code === 2) throw error;
      text = `bun-fleet: ${error.message}`; // keep watching: the fleet may come back
    }
    if (values.json) console.log(text);
    else
      process.stdout.write(
        `\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  ${target.url}\n${text}\n`,
      );
    await Bun.sleep(1000);
  }
});
