/** The sequential rounds in the report: throughput and latency per route, then lifecycle. */
import { int, mb, num, range, table } from "../format.ts";
import type { BenchResult } from "../run.ts";

/** The sequential section: one configuration at a time, interleaved over rounds. */
export function formatSequential(result: BenchResult, markdown: boolean): string[] {
  const { options, summaries } = result;
  const { threads, connections, durationS } = options.load;
  const cpuOf = (prefix: string) =>
    summaries.find((s) => s.name.startsWith(prefix))?.cpuMs?.median ?? Number.NaN;
  const throughput = summaries.flatMap((s) =>
    Object.entries(s.routes).map(([route, r]) => [
      s.label,
      route,
      range(r.rps, int),
      num(r.p50Ms.median),
      range(r.p99Ms, num),
      String(r.errors + r.non2xx),
      `${Math.round(r.maxOtherCpuPct)}%`,
    ]),
  );
  const worst = Math.max(
    ...summaries.flatMap((s) => Object.values(s.routes).map((r) => r.maxOtherCpuPct)),
  );
  const lifecycle = summaries.map((s) => [
    s.label,
    range(s.spawnToReadyMs, num),
    range(s.reportedReadyMs, num),
    range(s.stopMs, num),
    range(s.rssPrimaryMb, mb),
    range(s.rssWorkerMb, mb),
  ]);
  const lines = [
    `Sequential: ${options.rounds} round(s) × ${summaries.length} configurations, one at a time on all cores, interleaved; wrk -t${threads} -c${connections} -d${durationS}s --latency on 127.0.0.1; ` +
      (options.warmupS > 0 ? `warm-up ${options.warmupS} s per route` : "no warm-up"),
    `CPU route (for fleet ×N / ×1; not loaded on Node: it would measure the hash): SHA-256 of ${int(result.cpuBytes / 1024)} KiB = ${num(cpuOf("bare"))} ms per call in Bun`,
  ];
  if (options.quick) {
    lines.push("QUICK smoke run: routes loaded concurrently for 1 s; numbers are not measurements");
  }
  const headers = ["config", "route", "req/s", "p50 ms", "p99 ms", "errors", "other CPU"];
  lines.push(
    "",
    "Throughput and latency: median (min–max) over rounds; other CPU = most of the machine any sample lost to other processes",
    table(headers, throughput, markdown),
  );
  if (worst > 5) {
    lines.push(
      `WARNING: other processes took up to ${Math.round(worst)}% of the machine; rerun on a quiet machine`,
    );
  }
  lines.push(
    "",
    "Lifecycle: boot = spawn to ready line; banner = the fleet's own 'ready in'; stop = stop request to every process exited (idle)",
    table(
      ["config", "boot ms", "banner ms", "stop ms", "primary MB", "worker MB (max)"],
      lifecycle,
      markdown,
    ),
  );
  return lines;
}
