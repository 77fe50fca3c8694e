/**
 * The command line of `bun run start`: `--name value`, `--name=value`, bare boolean flags and
 * `-h`/`--help`. Hand-written for this one grammar: `node:util`'s parseArgs cost the primary
 * 4.4 MB of RSS (23.9 -> 28.3 MB for a bare `bun` using it, 3 runs each) for the same result.
 */

/** What a flag takes: a value, or nothing (a boolean switch). */
export type FlagKind = "string" | "boolean";

/** Flags as given: a string for value flags, true for switches; last one wins. */
export type Flags = Record<string, string | true>;

/** A command line that does not fit the grammar; the message names what to fix. */
export class ArgvError extends Error {}

/** Reads `argv` against the known flags (names without dashes); throws ArgvError. */
export function parseFlags(argv: string[], known: Record<string, FlagKind>): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-h") {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      throw new ArgvError(`unexpected argument ${arg} (options only; see --help)`);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = known[name];
    if (!kind) throw new ArgvError(`unknown option --${name} (see --help)`);
    if (kind === "boolean") {
      if (eq !== -1) throw new ArgvError(`--${name} takes no value (use the env variable for 0/1)`);
      flags[name] = true;
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith("--"))) {
      throw new ArgvError(`--${name} needs a value (see --help)`);
    }
    flags[name] = value;
  }
  return flags;
}
