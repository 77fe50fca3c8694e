/** `bun run stop`: a graceful stop of the whole fleet (POST /admin/stop), waiting until it is gone. */
import {
  adminFetch,
  CliError,
  COMMON_OPTIONS,
  cliArgs,
  resolveTarget,
  runCli,
} from "./cli/target.ts";

const USAGE = `Usage: bun run stop [-- --no-wait]
Stops the fleet gracefully (POST /admin/stop) and waits until it no longer answers.
${COMMON_OPTIONS}`;

/** Longest wait for the fleet to go: the default SHUTDOWN_TIMEOUT_MS (10 s) and its grace, twice. */
const WAIT_MS = 25_000;

await runCli(async () => {
  const { values } = cliArgs(process.argv.slice(2), USAGE, { "no-wait": { type: "boolean" } });
  const target = resolveTarget(values);
  await adminFetch(target, "/admin/stop", { method: "POST" });
  console.log(`stopping the fleet at ${target.url}`);
  if (values["no-wait"]) return;
  const deadline = performance.now() + WAIT_MS;
  while (performance.now() < deadline) {
    try {
      await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(1000) });
    } catch {
      console.log("stopped");
      return;
    }
    await Bun.sleep(100);
  }
  throw new CliError(`the fleet at ${target.url} still answers after ${WAIT_MS / 1000} s`);
});
