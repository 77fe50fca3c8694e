/** `bun run status [-- --json | --watch]`: the fleet's processes, like `pm2 ls`. */

import type { FleetHistoryJson } from "../workers/primary/observe/history-json.ts";
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
import { TrendWindow, trendLines } from "./cli/trend.ts";

const USAGE = `Usage: bun run status [-- --json | --watch]
Shows the fleet's primary, workers and extras (GET /admin/status).
  --json    print the status JSON
  --watch   refresh every second until Ctrl-C, with a sparkline of each worker's requests/s
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
  // One character a second, as wide as the terminal allows (at most the last 60 s).
  const width = Math.max(10, Math.min(60, (process.stdout.columns || 80) - 30));
  const trend = new TrendWindow(width);
  for (;;) {
    let text: string;
    try {
      const status = await fetchStatus();
      text = values.json ? JSON.stringify(status) : statusTable(status);
      if (!values.json) {
        const lines = await adminFetch(target, `/admin/history?since=${trend.since}`)
          .then((history) => {
            trend.add(history as FleetHistoryJson);
            return trendLines(trend.samples, width);
          })
          .catch(() => ""); // a fleet without /admin/history: the table alone
        if (lines) text += `\n\n${lines}`;
      }
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
