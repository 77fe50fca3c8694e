/** The paired section of the report: the A/A verdict, the ratios, and where each server ran. */
import { int, mb, range, table } from "../format.ts";
import type { PairResult } from "./pairs.ts";
import { CLIENT_CPUS, SERVER_CPUS } from "./pairs.ts";

const ratio = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : "–");

/** The A/A verdict in one line: whether the paired ratios below can be trusted. */
export function controlLine(paired: PairResult): string {
  const { worst, error, tolerance, pass } = paired.control;
  const within = `1.00 ± ${tolerance.toFixed(2)}`;
  const measured = Number.isNaN(error) ? ratio(worst) : `${ratio(worst)} ± ${ratio(error)}`;
  if (pass) return `A/A control: ${measured}, within ${within}: the paired ratios are trusted`;
  const why =
    Math.abs(worst - 1) > tolerance
      ? `outside ${within}`
      : Number.isNaN(error)
        ? "too few rounds to know its error (3 or more needed)"
        : `its error exceeds ${tolerance.toFixed(2)} (more --pair-rounds, or a quieter machine)`;
  return `A/A control FAILED: ${measured}, ${why}: the machine is too noisy now; do NOT trust the paired ratios`;
}

/** The lines of the paired section. */
export function formatPairs(paired: PairResult, markdown: boolean): string[] {
  const { rounds, load, warmupS, quick } = paired.options;
  const extra =
    paired.roundsRun > rounds
      ? ` (${rounds} + ${paired.roundsRun - rounds} while A/A was not trusted)`
      : "";
  const rows = paired.pairs.flatMap((p) =>
    Object.entries(p.routes).map(([route, r]) => [
      p.label,
      route,
      range(r.ratio, ratio),
      Number.isNaN(r.error) ? "–" : `±${ratio(r.error)}`,
      range(r.aRps, int),
      range(r.bRps, int),
      String(r.errors),
    ]),
  );
  const servers = paired.pairs.flatMap((p) =>
    p.servers.map((s) => [
      s.label,
      s.placement?.cpus ?? "–",
      String(s.placement?.sid ?? "–"),
      s.primaryMb === null ? "–" : mb(s.primaryMb),
      s.workerMb.map(mb).join(", "),
    ]),
  );
  const lines = [
    `Paired: both sides of a pair loaded at the same time; servers pinned to CPU ${SERVER_CPUS}, each in its own session; wrk pinned to CPU ${CLIENT_CPUS}`,
    `${paired.roundsRun} round(s)${extra} × ${load.durationS} s per route, pairs in turn; wrk -t${load.threads} -c${load.connections} each; ` +
      (warmupS > 0 ? `warm-up ${warmupS} s per route` : "no warm-up") +
      (quick ? "; QUICK: routes at once, numbers are not measurements" : ""),
    controlLine(paired),
    "",
    "Ratio = B / A req/s in the same round; median (min–max) over rounds; error = standard error of that median, from the scatter of rounds",
    table(
      ["pair (B / A)", "route", "ratio", "± error", "A req/s", "B req/s", "errors"],
      rows,
      markdown,
    ),
    "",
    "Servers after the paired rounds (session: each its own; RSS of the primary and each worker)",
    table(["server", "CPUs", "session", "primary MB", "worker MB"], servers, markdown),
  ];
  return lines;
}
