/**
 * `bun run bench -- --peers` without running the peers: the option parses, a peer that cannot be
 * installed is reported with its reason (and keeps its row in the table), and the pairs of a
 * peer that is not there are left out instead of failing the run.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOptions } from "../../scripts/bench/options.ts";
import { installPeer, peersDir } from "../../scripts/bench/peers/install.ts";
import { formatPeers } from "../../scripts/bench/peers/report.ts";
import { peerPairs } from "../../scripts/bench/peers/run.ts";

const scratch = mkdtempSync(join(tmpdir(), "bench-peers-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("bench --peers", () => {
  test("a full run has every section; --peers runs only the peers, --no-X skips X", () => {
    const all = { http: true, peers: true, realtime: true, pubsub: true };
    expect(parseOptions([])?.sections).toEqual(all);
    expect(parseOptions(["--quick", "--json"])?.sections).toEqual(all);
    const options = parseOptions(["--peers", "--markdown"]);
    expect([options?.sections, options?.markdown]).toEqual([
      { http: false, peers: true, realtime: false, pubsub: false },
      true,
    ]);
    const skip = ["--no-peers", "--no-realtime", "--no-pubsub"];
    expect(parseOptions(skip)?.sections).toEqual({
      http: true,
      peers: false,
      realtime: false,
      pubsub: false,
    });
    expect(parseOptions(["--pairs-only"])?.sections).toEqual({
      http: true,
      peers: false,
      realtime: false,
      pubsub: false,
    });
    expect(parseOptions(["--readme"])?.markdown).toBe(true);
    expect(() => parseOptions(["--readme", "--json"])).toThrow("does not combine with --json");
    expect(() => parseOptions(["--readme", "--no-peers", "--peers"])).toThrow("contradict");
    expect(() => parseOptions(["--readme", "--pairs-only"])).toThrow(
      "--readme writes the README's figures from one full run: it does not combine with --pairs-only",
    );
    expect(() => parseOptions(["--readme", "--env", "METRICS=0", "--no-pubsub"])).toThrow(
      "with --no-pubsub, --env",
    );
    expect(parseOptions(["--readme", "--quick"])?.readme).toBe(true);
    expect(() => parseOptions(["--peers", "--no-peers"])).toThrow("contradict");
    expect(() => parseOptions(["--peers", "--pairs-only"])).toThrow("--peers runs its own pairs");
    expect(() => parseOptions(["--peers", "--against", "."])).toThrow("--peers runs its own pairs");
  });

  test("installs into a cache folder of its own, never the project (BENCH_PEERS_DIR overrides)", () => {
    expect(peersDir({ BENCH_PEERS_DIR: "/x/peers" })).toBe("/x/peers");
    expect(peersDir({ XDG_CACHE_HOME: "/c", HOME: "/h" })).toBe("/c/bun-fleet-bench/peers");
  });

  test("a peer pointed at a missing binary is reported as not installed, with the reason", async () => {
    const missing = join(scratch, "no-such-deno");
    const install = await installPeer("deno", { BENCH_DENO: missing });
    expect(install).toEqual({
      name: "deno",
      ok: false,
      reason: `BENCH_DENO=${missing}: no such file`,
    });
  });

  test("a package spec that cannot be installed is reported with bun add's error", async () => {
    const dir = join(scratch, "peers");
    const spec = `file:${join(scratch, "no-such-package")}`;
    const install = await installPeer("pm2", { BENCH_PEERS_DIR: dir, BENCH_PM2_SPEC: spec });
    expect(install.ok).toBe(false);
    if (!install.ok) expect(install.reason).toStartWith(`bun add ${spec} failed (exit 1)`);
    // it went to the cache folder, with a package.json of its own
    expect(existsSync(join(dir, "package.json"))).toBe(true);
  }, 20_000);

  test("a peer that is not installed keeps its row in the table; its pairs are left out", () => {
    const installs = [
      { name: "deno" as const, ok: false as const, reason: "BENCH_DENO=/x: no such file" },
      {
        name: "pm2" as const,
        ok: false as const,
        reason: "bun add pm2@7 failed (exit 1): offline",
      },
    ];
    const text = formatPeers(
      { workers: 2, installs, paired: null, life: [], lifeErrors: {} },
      true,
    ).join("\n");
    const lines = text.split("\n");
    // the markdown table keeps its header row, right above its rule
    const rule = lines.findIndex((line) => line.startsWith("| --- |"));
    expect(lines[rule - 1]).toStartWith("| system | hello ×fleet | JSON ×fleet |");
    const row = (label: string) =>
      text.split("\n").find((line) => line.startsWith(`| ${label}`)) ?? "";
    expect(row("deno serve --parallel")).toContain("not installed: BENCH_DENO=/x: no such file");
    expect(row("PM2 7 cluster mode under Bun")).toContain("not installed: bun add pm2@7 failed");
    expect(row("Bun node:cluster")).not.toBe("");
    expect(row("Node cluster + @hono/node-server")).not.toBe("");
    const names = peerPairs(new Set()).map((p) => p.name);
    expect(names).toEqual(["aa-fleet", "bare-vs-fleet", "bun-cluster-vs-fleet", "node-vs-fleet"]);
    expect(peerPairs(new Set(["deno", "pm2"])).map((p) => p.name)).toEqual([
      ...names.slice(0, 3),
      "deno-vs-fleet",
      "pm2-vs-fleet",
      "node-vs-fleet",
      "deno-vs-bare",
      "deno-raw-vs-bare-raw",
    ]);
  });
});
