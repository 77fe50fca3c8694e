import { describe, expect, test } from "bun:test";
import type { Log } from "../../workers/log.ts";
import { Operations } from "../../workers/primary/operations.ts";
import type { Slot } from "../../workers/primary/pool.ts";

const slot = (index: number): Slot => ({
  index,
  extra: null,
  current: null,
  crashes: undefined as never,
  respawnTimer: undefined,
  spawns: 1,
  restarts: 0,
  replacements: 0,
});

/** A pool whose replacements take `replaceMs` and can be told to fail; it records every step. */
function fakePool(workers: number, replaceMs = 5) {
  const steps: string[] = [];
  const pool = {
    http: Array.from({ length: workers }, (_, i) => slot(i)),
    extras: [] as Slot[],
    failAt: -1,
    async replace(s: Slot, reason: string) {
      steps.push(`${reason} ${s.index} start`);
      await Bun.sleep(replaceMs);
      steps.push(`${reason} ${s.index} end`);
      return s.index !== pool.failAt;
    },
    resize(n: number) {
      steps.push(`resize ${pool.http.length}->${n}`);
      while (pool.http.length < n) pool.http.push(slot(pool.http.length));
      pool.http.length = n;
    },
  };
  return { pool, steps };
}

const lines: string[] = [];
const log: Log = {
  debug: (m) => lines.push(m),
  info: (m) => lines.push(m),
  warn: (m) => lines.push(m),
  error: (m) => lines.push(m),
};
/** Waits (bounded) until `steps` has at least `n` entries. */
async function stepsReach(steps: string[], n: number): Promise<void> {
  for (let i = 0; i < 1000 && steps.length < n; i++) await Bun.sleep(1);
}

describe("operations queue", () => {
  test("relative scale changes queued behind a reload add up", async () => {
    const { pool, steps } = fakePool(2);
    const ops = new Operations(pool, log, () => true);
    ops.reload("SIGHUP");
    ops.scale((n) => n + 1, "SIGTTIN");
    ops.scale((n) => n + 1, "SIGTTIN");
    ops.scale((n) => n - 10, "SIGTTOU");
    await ops.idle();
    expect(steps).toEqual([
      "reload 0 start",
      "reload 0 end",
      "reload 1 start",
      "reload 1 end",
      "resize 2->3",
      "resize 3->4",
      "resize 4->1",
    ]);
  });

  test("reloads never interleave; one asked for while another is queued joins it", async () => {
    const { pool, steps } = fakePool(2);
    const ops = new Operations(pool, log, () => true);
    ops.reload("a");
    await stepsReach(steps, 1); // a is running now
    ops.reload("b"); // queued behind a
    ops.reload("c"); // joins b
    await ops.idle();
    expect(steps.filter((s) => s.endsWith("start"))).toEqual([
      "reload 0 start",
      "reload 1 start",
      "reload 0 start",
      "reload 1 start",
    ]);
    expect(lines).toContain("reload (c) joins the reload already queued");
  });

  test("a failed replacement aborts the reload; the next slots are left alone", async () => {
    const { pool, steps } = fakePool(3);
    pool.failAt = 1;
    const ops = new Operations(pool, log, () => true);
    ops.reload("deploy");
    await ops.idle();
    expect(steps).toEqual(["reload 0 start", "reload 0 end", "reload 1 start", "reload 1 end"]);
    expect(lines).toContain("reload (deploy) aborted: the old workers keep serving");
  });

  test("operations asked for before the queue opens wait for it, then run in order", async () => {
    const { pool, steps } = fakePool(2);
    const opened = Promise.withResolvers<void>();
    const ops = new Operations(pool, log, () => true, opened.promise);
    ops.scale((n) => n + 1, "SIGTTIN");
    ops.reload("SIGHUP");
    await Bun.sleep(20);
    expect(steps).toEqual([]); // still starting: nothing ran, nothing was lost
    opened.resolve();
    await ops.idle();
    expect(steps).toEqual(
      ["resize 2->3", "reload 0 start", "reload 0 end"].concat([
        "reload 1 start",
        "reload 1 end",
        "reload 2 start",
        "reload 2 end",
      ]),
    );
  });

  test("a stop before the queue opens drops what is queued, each logged", async () => {
    const { pool, steps } = fakePool(2);
    const opened = Promise.withResolvers<void>();
    const ops = new Operations(pool, log, () => false, opened.promise);
    ops.scale((n) => n + 1, "SIGTTIN");
    ops.reload("SIGHUP");
    opened.resolve(); // the primary opens the queue when it starts stopping
    await ops.idle();
    expect(steps).toEqual([]);
    expect(lines).toContain("scale (SIGTTIN) dropped: the fleet is stopping");
    expect(lines).toContain("reload (SIGHUP) dropped: the fleet is stopping");
  });

  test("nothing runs once the fleet is no longer running", async () => {
    const { pool, steps } = fakePool(2);
    const ops = new Operations(pool, log, () => false);
    ops.reload("late");
    ops.scale(() => 5, "late");
    ops.recycle(pool.http[0] as Slot, "max-requests");
    await ops.idle();
    expect(steps).toEqual([]);
  });
});
