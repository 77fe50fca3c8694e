/**
 * The pairs `bun run bench` measures: the A/A control (bare vs bare), fleet ×1 vs bare (as
 * shipped: requests counted for /metrics), fleet ×1 with METRICS=0 vs bare, and on request this
 * checkout's fleet vs another checkout's (`--against`).
 */
import type { RouteName } from "../servers/app.ts";
import type { ConfigSpec } from "../servers/index.ts";

/** Two configurations measured side by side; the ratio reported is B / A. */
export interface PairSpec {
  name: string;
  label: string;
  /** The A/A control: the same configuration on both sides. */
  control: boolean;
  a: ConfigSpec;
  b: ConfigSpec;
  routes: RouteName[];
}

/** What the pairs are made of: `against` adds this checkout's fleet vs another checkout's. */
export interface PairChoice {
  /** Another checkout (e.g. a worktree of main) whose fleet ×1 is side A of an extra pair. */
  against?: string | undefined;
  /** Env for every fleet configuration (e.g. WORKER_INDEX_HEADER=1 to see what it costs). */
  fleetEnv: Record<string, string>;
  /** Env for the `against` side only, over `fleetEnv` (e.g. METRICS=0, with `against` "."). */
  againstEnv?: Record<string, string>;
}

/**
 * The pairs: A/A control (bare vs bare), fleet ×1 vs bare, fleet ×1 METRICS=0 vs bare, and
 * optionally here vs `against`.
 */
export function pairSpecs({ against, fleetEnv, againstEnv = {} }: PairChoice): PairSpec[] {
  const bare = (name: string, label: string): ConfigSpec => ({
    name,
    label,
    kind: "bare",
    workers: 1,
  });
  const fleet = (name: string, label: string, root?: string, env = fleetEnv): ConfigSpec => ({
    name,
    label,
    kind: "fleet",
    workers: 1,
    env,
    ...(root === undefined ? {} : { root }),
  });
  const pairs: PairSpec[] = [
    {
      name: "aa-bare",
      label: "A/A: bare / bare",
      control: true,
      a: bare("bare-a", "bare Bun.serve (A)"),
      b: bare("bare-b", "bare Bun.serve (B)"),
      routes: ["hello"],
    },
    {
      name: "fleet-1-vs-bare",
      label: "fleet ×1 / bare",
      control: false,
      a: bare("bare", "bare Bun.serve"),
      b: fleet("fleet-1", "fleet ×1"),
      routes: ["hello", "json"],
    },
    {
      name: "fleet-1-nometrics-vs-bare",
      label: "fleet ×1 METRICS=0 / bare",
      control: false,
      a: bare("bare-for-nometrics", "bare Bun.serve"),
      b: fleet("fleet-1-nometrics", "fleet ×1 METRICS=0", undefined, {
        ...fleetEnv,
        METRICS: "0",
      }),
      routes: ["hello", "json"],
    },
  ];
  if (against !== undefined) {
    const settings = Object.entries(againstEnv).map(([name, value]) => `${name}=${value}`);
    const againstLabel = `fleet ×1 (${[against, ...settings].join(" ")})`;
    pairs.push({
      name: "here-vs-against",
      label: "fleet ×1 here / fleet ×1 --against",
      control: false,
      a: fleet("fleet-1-against", againstLabel, against, { ...fleetEnv, ...againstEnv }),
      b: fleet("fleet-1-here", "fleet ×1 (this checkout)"),
      routes: ["hello", "json"],
    });
  }
  return pairs;
}
