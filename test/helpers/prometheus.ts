/**
 * A strict reader of the Prometheus text format (0.0.4) for tests: every line is a comment
 * (`# HELP`, `# TYPE`), blank, or `name{label="value",...} number`; a sample's family must have
 * been declared by `# TYPE` before it. Anything else throws, naming the line.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/;
const SUFFIXES = ["_bucket", "_sum", "_count"];

function labels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  while (rest) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels in: ${line}`);
    out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, "$1");
    rest = rest.slice(m[0].length);
  }
  return out;
}

function parseValue(raw: string, line: string): number {
  if (raw === "+Inf") return Number.POSITIVE_INFINITY;
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY;
  if (raw === "NaN") return Number.NaN;
  if (!/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) throw new Error(`bad value in: ${line}`);
  return Number(raw);
}

/** Parses exposition text; throws on the first line that is not valid. */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
      if (!m) throw new Error(`bad comment: ${line}`);
      if (m[1] === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3] as string)) {
          throw new Error(`bad type: ${line}`);
        }
        types.set(m[2] as string, m[3] as string);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample: ${line}`);
    const name = m[1] as string;
    const family = [name, ...SUFFIXES.map((s) => name.slice(0, -s.length))].find(
      (f) => types.get(f) && (f === name || types.get(f) === "histogram"),
    );
    if (!family) throw new Error(`sample before its # TYPE: ${line}`);
    samples.push({
      name,
      labels: labels(m[2] ?? "", line),
      value: parseValue(m[3] as string, line),
    });
  }
  return { samples, types };
}

/** Sums the samples named `name` by the value of `key(labels)`. */
export function sumBy(
  samples: Sample[],
  name: string,
  key: (labels: Record<string, string>) => string,
) {
  const sums: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = key(s.labels);
    sums[k] = (sums[k] ?? 0) + s.value;
  }
  return sums;
}
