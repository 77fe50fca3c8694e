/**
 * What RATE_LIMIT_PER_MINUTE costs per request, paired (scripts/bench/README.md's method): the
 * template app's `GET /api/todos/1` on SQLite, one fleet with the limit on (set so high that
 * nothing is refused: every request is counted by the fleet's shared counter in the primary,
 * or in Redis with `--redis URL`) against the same fleet with it off, loaded at the same time,
 * both pinned to CPU 0 in their own sessions, both wrk pinned to CPU 1; the median of the
 * per-round ratios. `--aa` runs two unlimited fleets instead (the control: should be ~1.00).
 * `--accuracy` measures what the limit lets through instead: a fleet (WORKERS, default here 2)
 * with RATE_LIMIT_PER_MINUTE=100, 300 requests on fresh connections, 8 at a time, from one
 * client (a new client address per run, through TRUSTED_PROXIES), `--rounds` runs.
 *
 *   bun scripts/bench/rate-limit.ts [--rounds 7] [--seconds 3] [--workers 1] [--connections 32]
 *                                   [--redis redis://127.0.0.1:6379] [--aa] [--swap] [--accuracy]
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, type Group, Processes } from "../lib/procs.ts";
import { pinned } from "./measure/placement.ts";
import { runWrk, WRK_MISSING } from "./measure/wrk.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    seconds: { type: "string", default: "3" },
    workers: { type: "string", default: "1" },
    connections: { type: "string", default: "32" },
    redis: { type: "string" },
    aa: { type: "boolean", default: false },
    accuracy: { type: "boolean", default: false },
    swap: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const durationS = Number(values.seconds);
const found = Bun.which("wrk");
if (!found) {
  console.error(WRK_MISSING);
  process.exit(1);
}
const wrk: string = found;

const processes = new Processes(`rate-limit-${process.pid}`);
const token = "bench-rate-limit-token-0123456789";

interface Side {
  label: string;
  url: string;
  group: Group;
  db: string;
}

async function startFleet(
  label: string,
  limit: number,
  redis?: string,
  env: Record<string, string> = {},
): Promise<Side> {
  const port = freePort();
  const db = join(tmpdir(), `bench-rate-limit-${process.pid}-${port}.db`);
  const group = processes.spawnGroup(
    pinned([process.execPath, join(ROOT, "scripts", "start.ts")], "0"),
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: values.workers,
      ADMIN_TOKEN: token,
      APP_MODULE: join(ROOT, "app", "index.ts"),
      HOOKS_MODULE: join(ROOT, "app", "hooks.ts"),
      DATABASE_URL: `sqlite://${db}`,
      RATE_LIMIT_PER_MINUTE: String(limit),
      ...(redis ? { REDIS_URL: redis } : {}),
      ...env,
    },
    ROOT,
  );
  await group.stdout.waitFor(/bun-fleet: serving/, 30_000);
  const url = `http://127.0.0.1:${port}`;
  const created = await fetch(`${url}/api/todos`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "bench" }),
  });
  if (created.status !== 201) throw new Error(`${label}: POST /api/todos -> ${created.status}`);
  return { label, url, group, db };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** 300 requests on fresh connections, 8 at a time, from `client`: how many were answered. */
async function answered(url: string, client: string): Promise<number> {
  let sent = 0;
  let ok = 0;
  const lane = async () => {
    while (sent < 300) {
      sent += 1;
      const res = await fetch(url, {
        headers: { connection: "close", "x-forwarded-for": client },
        keepalive: false,
      });
      await res.arrayBuffer();
      if (res.status === 200) ok += 1;
      else if (res.status !== 429) throw new Error(`unexpected status ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return ok;
}

async function accuracy(): Promise<void> {
  const workers = process.argv.includes("--workers") ? values.workers : "2";
  values.workers = workers;
  const fleet = await startFleet("limited", 100, values.redis, { TRUSTED_PROXIES: "127.0.0.1/32" });
  sides = [fleet];
  const counts: number[] = [];
  for (let run = 1; run <= rounds; run++) {
    counts.push(await answered(`${fleet.url}/api/todos/1`, `198.51.100.${run}`));
  }
  console.log(
    `RATE_LIMIT_PER_MINUTE=100, WORKERS=${workers}${values.redis ? ", REDIS_URL" : ""}: 300 requests on fresh connections, 8 at a time, per run`,
  );
  console.log(
    `answered per run: ${counts.join(" ")} (min ${Math.min(...counts)}, max ${Math.max(...counts)})`,
  );
}

const LIMIT = 1_000_000_000; // counted, never reached
let sides: Side[] = [];

async function cost(): Promise<void> {
  // `--swap` starts and loads the unlimited side first (the A/A control showed the first side
  // up to ~3% ahead on some runs): the ratio is still limited / off.
  const limited = () =>
    startFleet(values.aa ? "off (A)" : "limited", values.aa ? 0 : LIMIT, values.redis);
  const off = () => startFleet(values.aa ? "off (B)" : "off", 0);
  const [first, second] = await Promise.all(values.swap ? [off(), limited()] : [limited(), off()]);
  const [a, b] = (values.swap ? [second, first] : [first, second]) as [Side, Side];
  sides = values.swap ? [b, a] : [a, b];
  const load = { threads: 1, connections: Number(values.connections), durationS };
  const path = "/api/todos/1";
  // Warm-up, both at once.
  await Promise.all(
    sides.map((s) => runWrk(wrk, s.url + path, { ...load, durationS: 2 }, processes, "1")),
  );
  const ratios: number[] = [];
  const rps: [number, number][] = [];
  for (let round = 1; round <= rounds; round++) {
    const results = await Promise.all(
      sides.map((s) => runWrk(wrk, s.url + path, load, processes, "1")),
    );
    const [ra, rb] = values.swap ? [results[1], results[0]] : [results[0], results[1]];
    if (!ra || !rb) throw new Error("wrk gave no result");
    if (ra.non2xx || rb.non2xx || ra.errors || rb.errors) {
      throw new Error(
        `round ${round}: non-2xx ${ra.non2xx}/${rb.non2xx}, errors ${ra.errors}/${rb.errors}`,
      );
    }
    ratios.push(ra.rps / rb.rps);
    rps.push([ra.rps, rb.rps]);
    console.log(
      `round ${round}: ${a.label} ${Math.round(ra.rps)} req/s (p99 ${ra.p99Ms} ms), ${b.label} ${Math.round(rb.rps)} req/s (p99 ${rb.p99Ms} ms), ratio ${(ra.rps / rb.rps).toFixed(3)}`,
    );
  }
  console.log(
    `\nGET ${path}, WORKERS=${values.workers}, wrk -t1 -c${load.connections} -d${durationS}s x ${rounds} rounds${values.redis ? ", store: Redis" : ", store: the fleet's counter"}`,
  );
  console.log(
    `median ${a.label} / ${b.label} = ${median(ratios).toFixed(3)} (rounds: ${ratios.map((r) => r.toFixed(3)).join(" ")})`,
  );
  console.log(
    `median req/s: ${a.label} ${Math.round(median(rps.map((r) => r[0])))}, ${b.label} ${Math.round(median(rps.map((r) => r[1])))}`,
  );
}

try {
  if (values.accuracy) await accuracy();
  else await cost();
} finally {
  await processes.stopAll(3000);
  for (const side of sides) {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${side.db}${suffix}`, { force: true });
  }
}
