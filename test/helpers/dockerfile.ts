/** Just enough of a Dockerfile parser for the tests that check ours. */

/** One instruction: `FROM`, `RUN`, … with its arguments as written (continuations joined). */
export interface Instruction {
  keyword: string;
  args: string;
}

/** The instructions of a Dockerfile, comments and blank lines dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!pending && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue; // a comment inside a continued instruction
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  if (pending) logical.push(pending.trim());
  return logical.map((line) => {
    const keyword = line.split(/\s+/, 1)[0] ?? "";
    return { keyword: keyword.toUpperCase(), args: line.slice(keyword.length).trim() };
  });
}

/** The JSON array of an exec-form instruction, or null when it is in shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith("[")) return null;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((part) => typeof part === "string")
      ? parsed
      : null;
  } catch {
    return null;
  }
}

/** The command of a HEALTHCHECK instruction (after its `--option=value`s and `CMD`). */
export function healthcheckCommand(args: string): string {
  return args.replace(/^(--\S+\s+)*/, "").replace(/^CMD\s+/, "");
}
