/** The numbers both measurements report with: a median with its range, and a target judged. */

/** Median with the range it came from. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median and range of `values` (upper median for even counts: no invented values). */
export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error("spread of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const median =
    sorted.length % 2 === 1
      ? (sorted[(sorted.length - 1) / 2] as number)
      : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  return {
    median,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    n: values.length,
  };
}

/** One of the targets, evaluated. */
export interface Target {
  text: string;
  value: number;
  op: ">=" | "<=";
  limit: number;
  unit: "×" | "ms" | "MB";
  pass: boolean;
  /** Set when the A/A control pair failed: the value is too noisy to judge. */
  untrusted?: true;
}

/** A target evaluated: `value op limit`. */
export function target(
  text: string,
  value: number,
  op: Target["op"],
  limit: number,
  unit: Target["unit"],
) {
  return { text, value, op, limit, unit, pass: op === ">=" ? value >= limit : value <= limit };
}

/** The memory targets of a fleet (`fleet ×N`): a worker within bare + 5 MB, the primary ≤ 35 MB. */
export function rssTargets(
  fleet: string,
  workerMb: number,
  bareWorkerMb: number,
  primaryMb: number,
) {
  return [
    target(`${fleet} worker RSS (limit: bare + 5 MB)`, workerMb, "<=", bareWorkerMb + 5, "MB"),
    target(`${fleet} primary RSS`, primaryMb, "<=", 35, "MB"),
  ];
}
