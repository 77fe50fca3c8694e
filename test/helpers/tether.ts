/**
 * `bun tether.ts <command...>`: runs the command as its child and ties it to the test runner.
 * The runner starts this as a process-group leader with a pipe on stdin it never writes; when
 * that pipe closes (the runner exited, crashed, or was killed, even by SIGKILL), the whole group
 * is killed. So a fleet can never outlive the test run that started it.
 *
 * It writes one line `[tether] pid <child pid>` on stderr (right after the spawn, so a fast child
 * may write first); the exit code is the child's.
 */
export {};

const child = Bun.spawn(process.argv.slice(2), { stdio: ["ignore", "inherit", "inherit"] });
process.stderr.write(`[tether] pid ${child.pid}\n`);

void (async () => {
  for await (const _ of Bun.stdin.stream()) {
    // the runner never writes; we only wait for end-of-file
  }
  process.kill(-process.pid, "SIGKILL");
})();

process.exit(await child.exited);
