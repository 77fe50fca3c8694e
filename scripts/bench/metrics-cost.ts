/**
 * `bun scripts/bench/metrics-cost.ts [--rounds 7] [--seconds 3] [--aa]`: what request counting
 * costs on hello, measured the way DESIGN.md says is reliable on a shared machine: two fleets ×1
 * (METRICS on, METRICS=0) loaded at the same time, each server pinned to core 0 in its own
 * session (setsid: equal autogroup shares), both wrk pinned to core 1; the median of the
 * per-round ratios. `--aa` runs two identical fleets (METRICS on) instead, to show the noise.
 * 127.0.0.1 only; every fleet is stopped at the end.
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../..", import.meta.url).pathname;
const TOKEN = "metrics-cost-token-0123456789";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    seconds: { type: "string", default: "3" },
    aa: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = server;
  server.stop(true);
  return port;
}

interface Fleet {
  label: string;
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
}

async function startFleet(label: string, metrics: boolean): Promise<Fleet> {
  const port = await freePort();
  const proc = Bun.spawn(
    ["setsid", "taskset", "-c", "0", process.execPath, `${ROOT}scripts/start.ts`],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        WORKERS: "1",
        ADMIN_TOKEN: TOKEN,
        METRICS: metrics ? "1" : "0",
        HOOKS_MODULE: `${ROOT}test/fixtures/no-extras-hooks.ts`,
      },
      stdout: "ignore",
      stderr: "ignore",
    },
  );
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return { label, port, proc };
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`${label} did not answer within 10 s`);
}

async function wrk(port: number, secs: number): Promise<number> {
  const proc = Bun.spawn(
    ["taskset", "-c", "1", "wrk", "-t1", "-c32", `-d${secs}s`, `http://127.0.0.1:${port}/`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  return Number(rps);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const [a, b] = values.aa
  ? [await startFleet("A (METRICS on)", true), await startFleet("A' (METRICS on)", true)]
  : [await startFleet("metrics on", true), await startFleet("METRICS=0", false)];
try {
  await Promise.all([wrk(a.port, 1), wrk(b.port, 1)]); // warm-up, not counted
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const [ra, rb] = await Promise.all([wrk(a.port, seconds), wrk(b.port, seconds)]);
    ratios.push(ra / rb);
    console.log(
      `round ${round}: ${a.label} ${Math.round(ra)} req/s, ${b.label} ${Math.round(rb)} req/s, ratio ${(ra / rb).toFixed(3)}`,
    );
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  console.log(
    `median ratio ${a.label} / ${b.label} = ${median(ratios).toFixed(3)} (min ${sorted[0]?.toFixed(3)}, max ${sorted.at(-1)?.toFixed(3)}, ${rounds} rounds of ${seconds} s)`,
  );
} finally {
  for (const fleet of [a, b]) {
    try {
      process.kill(-(fleet.proc.pid as number), "SIGTERM");
    } catch {
      // already gone
    }
  }
  await Promise.all([a.proc.exited, b.proc.exited]);
}
