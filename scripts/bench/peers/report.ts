/**
 * The peers table: a row per system (the fleet first), per-core req/s relative to the fleet
 * (paired, pinned, with the A/A verdict above it), RSS of the whole thing, start to ready,
 * failed requests during its own reload and during a worker kill, and notes; then what the
 * Deno pairs say, and the paired detail. A peer that was not installed keeps its row.
 */
import { int, mb, num, table } from "../format.ts";
import { controlLine, formatPairs } from "../paired/report.ts";
import type { PairRoute } from "../paired/stats.ts";
import type { RouteName } from "../servers/app.ts";
import type { Failures } from "./lifecycle.ts";
import type { PeersResult } from "./run.ts";
import { SYSTEMS } from "./systems.ts";

const ratio = (r: PairRoute | undefined) =>
  !r
    ? "–"
    : `${r.ratio.median.toFixed(2)}${Number.isNaN(r.error) ? "" : ` ±${r.error.toFixed(2)}`}`;

const failed = (f: Failures | string | undefined) =>
  f === undefined
    ? "–"
    : typeof f === "string"
      ? f
      : `${int(f.failed)} of ${int(f.requests)} (${f.note})`;

/** The peers section as lines; `markdown` renders the tables as markdown. */
export function formatPeers(result: PeersResult, markdown = false): string[] {
  const { paired, life, installs, workers } = result;
  const pairRoute = (name: string, route: RouteName) =>
    paired?.pairs.find((p) => p.name === name)?.routes[route];
  const version = (needs: string | undefined) => {
    const install = installs.find((i) => i.name === needs);
    return install?.ok ? ` ${install.version}` : "";
  };
  const rows: string[][] = [];
  for (const system of SYSTEMS) {
    const label = `${system.label}${version(system.needs)}`;
    const install = installs.find((i) => i.name === system.needs);
    if (install && !install.ok) {
      rows.push([label, `not installed: ${install.reason}`, "–", "–", "–", "–", "–", "–"]);
      continue;
    }
    const fleet = system.kind === "fleet";
    const pair = `${system.name}-vs-fleet`;
    const lifeOf = life.find((l) => l.system === system.name);
    const error = result.lifeErrors[system.name];
    rows.push([
      label,
      fleet ? "1 (reference)" : ratio(pairRoute(pair, "hello")),
      fleet ? "1 (reference)" : ratio(pairRoute(pair, "json")),
      lifeOf ? `${mb(lifeOf.rssMb)} (${lifeOf.processes} proc.)` : (error ?? "–"),
      lifeOf ? num(lifeOf.readyMs) : "–",
      failed(lifeOf?.reload),
      failed(lifeOf?.kill),
      system.notes,
    ]);
  }
  rows.splice(1, 0, [
    "bare Bun.serve (one process, no supervisor)",
    ratio(pairRoute("bare-vs-fleet", "hello")),
    ratio(pairRoute("bare-vs-fleet", "json")),
    "–",
    "–",
    "–",
    "–",
    "the physical reference: what one Bun.serve with the same app does",
  ]);
  const lines: string[] = [];
  lines.push(
    paired
      ? `Per core: req/s of each system ×1 over the fleet ×1 loaded at the same time, both pinned to CPU 0, wrk on CPU 1; median of ${paired.roundsRun} rounds ± its error. ${controlLine(paired)}`
      : "Per core: not measured (--pair-rounds 0)",
    `RSS, ready, reload, kill: ${workers} workers each, on all cores, one system at a time; RSS = the system's top process and all its descendants after 1 s of load (threads included); ready = spawn to every worker listening; failed = wrk socket errors + non-2xx (hello, 64 connections)`,
    "",
    table(
      [
        "system",
        "hello ×fleet",
        "JSON ×fleet",
        `RSS MB (×${workers})`,
        "start → ready ms",
        "failed during its own reload",
        "failed when one worker is SIGKILLed",
        "notes",
      ],
      rows,
      markdown,
    ),
  );
  const hono = ["hello", "json"].map((r) => ratio(pairRoute("deno-vs-bare", r as RouteName)));
  const raw = ["hello", "json"].map((r) =>
    ratio(pairRoute("deno-raw-vs-bare-raw", r as RouteName)),
  );
  if (pairRoute("deno-vs-bare", "hello")) {
    lines.push(
      "",
      `Deno against bare Bun.serve, per core: with Hono ${hono[0]} (hello), ${hono[1]} (JSON); without Hono (a plain fetch handler) ${raw[0]} (hello), ${raw[1]} (JSON)`,
    );
  }
  if (paired) lines.push("", ...formatPairs(paired, markdown));
  return lines;
}
