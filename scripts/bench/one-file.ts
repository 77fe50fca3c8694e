/**
 * `bun scripts/bench/one-file.ts`: dist/bun-fleet (the one-file build) vs `bun run start`,
 * measured side by side: build time and size; spawn-to-banner boot, alternating, several runs;
 * RSS of each worker; requests/s in pinned concurrent pairs (both fleets ×1 on CPU 0, each in its
 * own session; two wrk on CPU 1; median of per-round ratios) with an A/A control first.
 *   bun scripts/bench/one-file.ts [--rounds 7] [--duration 3] [--boots 7] [--connections 32]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "../build.ts";
import { freePort } from "../lib/procs.ts";
import { parseWrk } from "./measure/wrk.ts";

const ROOT = join(import.meta.dir, "..", "..");
const TOKEN = "bench-one-file-token-0123456789";
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    duration: { type: "string", default: "3" },
    boots: { type: "string", default: "7" },
    connections: { type: "string", default: "32" },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const BOOTS = Number(values.boots);
const CONNECTIONS = Number(values.connections);

type Side = { name: string; cmd: string[] };
type Fleet = {
  proc: ReturnType<typeof Bun.spawn>;
  port: number;
  readyMs: number;
  stdout: () => string;
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const cpuLoad = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** Starts a fleet in its own session (setsid), optionally pinned; resolves at its banner. */
async function startFleet(side: Side, workers: number, cpus?: string): Promise<Fleet> {
  const port = await freePort();
  const pin = cpus ? ["taskset", "-c", cpus] : [];
  const started = performance.now();
  const proc = Bun.spawn(["setsid", ...pin, ...side.cmd], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: String(workers),
      ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: "warn",
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  let text = "";
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  const deadline = performance.now() + 15_000;
  while (!text.includes("bun-fleet: serving")) {
    if (performance.now() > deadline) throw new Error(`${side.name}: no banner in 15 s`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`${side.name} exited before its banner:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  const readyMs = performance.now() - started;
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { proc, port, readyMs, stdout: () => text };
}

async function stopFleet(fleet: Fleet): Promise<void> {
  fleet.proc.kill("SIGTERM");
  const code = await fleet.proc.exited;
  if (code !== 0) throw new Error(`a fleet exited ${code}`);
}

/** Resident set sizes (MB) of a fleet's workers (children whose command is not the ticker). */
function workerRss(fleet: Fleet): number[] {
  const pids =
    [...fleet.stdout().matchAll(/worker pids ([\d, ]+)/g)].at(-1)?.[1]?.split(", ").map(Number) ??
    [];
  return pids.map((pid) => {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return Number(kb) / 1024;
  });
}

async function wrk(port: number): Promise<number> {
  const proc = Bun.spawn(
    [
      "taskset",
      "-c",
      "1",
      "wrk",
      "-t1",
      `-c${CONNECTIONS}`,
      `-d${DURATION}s`,
      "--latency",
      `http://127.0.0.1:${port}/hello`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  const result = parseWrk(text);
  if (result.errors || result.non2xx) throw new Error(`wrk saw errors: ${text}`);
  return result.rps;
}

/** Per-round B/A ratios of two fleets ×1 loaded at the same time. */
async function pair(
  a: Side,
  b: Side,
): Promise<{ ratios: number[]; rpsA: number[]; rpsB: number[] }> {
  const [fa, fb] = [await startFleet(a, 1, "0"), await startFleet(b, 1, "0")];
  try {
    await Promise.all([wrk(fa.port), wrk(fb.port)]); // warm-up round, not counted
    const ratios: number[] = [];
    const rpsA: number[] = [];
    const rpsB: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const [ra, rb] = await Promise.all([wrk(fa.port), wrk(fb.port)]);
      rpsA.push(ra);
      rpsB.push(rb);
      ratios.push(rb / ra);
    }
    return { ratios, rpsA, rpsB };
  } finally {
    await Promise.all([stopFleet(fa), stopFleet(fb)]);
  }
}

const outdir = mkdtempSync(join(tmpdir(), "bench-one-file-"));
try {
  console.log(`load average before: ${cpuLoad()} (${navigator.hardwareConcurrency} CPUs)`);
  const builds = [];
  for (let i = 0; i < 3; i++) builds.push(await build(join(outdir, `bun-fleet-${i}`)));
  const binary = (builds[0] as { outfile: string }).outfile;
  console.log(
    `build: ${builds.map((b) => Math.round(b.ms)).join(", ")} ms; size ${((builds[0]?.bytes ?? 0) / 1024 / 1024).toFixed(1)} MiB (${builds[0]?.bytes} bytes)`,
  );
  const start: Side = { name: "bun run start", cmd: [process.execPath, "scripts/start.ts"] };
  const file: Side = { name: "dist/bun-fleet", cmd: [binary] };

  // Boot: spawn to banner with 2 workers (+ the template's extra), alternating.
  const boots: Record<string, number[]> = { [start.name]: [], [file.name]: [] };
  const rss: Record<string, number[]> = { [start.name]: [], [file.name]: [] };
  for (let i = 0; i < BOOTS; i++) {
    for (const side of i % 2 ? [file, start] : [start, file]) {
      const fleet = await startFleet(side, 2);
      boots[side.name]?.push(fleet.readyMs);
      for (let r = 0; r < 200; r++)
        await (await fetch(`http://127.0.0.1:${fleet.port}/hello`)).text();
      rss[side.name]?.push(...workerRss(fleet));
      await stopFleet(fleet);
    }
  }
  for (const side of [start, file]) {
    const b = boots[side.name] ?? [];
    const m = rss[side.name] ?? [];
    console.log(
      `${side.name}: spawn→banner median ${median(b).toFixed(0)} ms (runs: ${b.map((x) => x.toFixed(0)).join(", ")}); worker RSS after 200 requests median ${median(m).toFixed(1)} MB (${m.map((x) => x.toFixed(1)).join(", ")})`,
    );
  }
  console.log(
    `boot ratio binary/start: ${(median(boots[file.name] ?? []) / median(boots[start.name] ?? [])).toFixed(3)}`,
  );

  console.log(`load average before pairs: ${cpuLoad()}`);
  const aa = await pair(start, start);
  console.log(
    `A/A (start / start): median ${median(aa.ratios).toFixed(3)} [${aa.ratios.map((r) => r.toFixed(3)).join(", ")}]`,
  );
  const ab = await pair(start, file);
  console.log(
    `binary / start: median ${median(ab.ratios).toFixed(3)} [${ab.ratios.map((r) => r.toFixed(3)).join(", ")}]; req/s start ${median(ab.rpsA).toFixed(0)}, binary ${median(ab.rpsB).toFixed(0)}`,
  );
  console.log(`load average after: ${cpuLoad()}`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
