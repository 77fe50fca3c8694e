import { parseArgs } from "node:util";
import { localUrl } from "../../workers/primary/start/banner.ts";
import {
  readTokenFile,
  runningFleets,
  tokenFilePath,
} from "../../workers/primary/start/token-file.ts";
import { SETTINGS } from "../../workers/settings.ts";

/**
 * What the admin CLI (`bun run status|reload|stop|scale`) shares: which fleet (PORT, HOST or
 * --url, like `bun run start`; with none of them and no ADMIN_TOKEN, the one fleet of this user
 * that runs here, found by its token file), which token (ADMIN_TOKEN, else the token file a
 * fleet on this machine generated), and failures as one line and a non-zero exit, never a stack
 * trace.
 */

/** A failure the CLI reports as one line (exit 1; usage errors exit 2). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** The fleet a command talks to. */
export interface Target {
  url: string;
  token: string | null;
  /** Where the token came from, for error messages. */
  tokenSource: string;
}

const LOCAL = new Set(["127.0.0.1", "localhost", "[::1]", "0.0.0.0"]);

/** Reads `--url`/`--port`/`--host` (flags win over PORT/HOST env) and the token. */
export function resolveTarget(
  values: { url?: string; port?: string; host?: string },
  env: Record<string, string | undefined> = process.env,
): Target {
  const named = values.url || values.port !== undefined || env.PORT || env.ADMIN_TOKEN;
  if (!named) {
    const fleets = runningFleets(env);
    const [only] = fleets;
    if (only && fleets.length === 1)
      return { url: only.url, token: only.token, tokenSource: only.path };
    if (fleets.length > 1) {
      const ports = fleets.map((f) => f.port).join(", ");
      throw new CliError(
        `${fleets.length} fleets of this user run here (ports ${ports}): say which with PORT=<port> or --port <port>`,
        2,
      );
    }
  }
  let url: URL;
  if (values.url) {
    try {
      url = new URL(values.url);
    } catch {
      throw new CliError(`--url ${values.url}: not a URL (e.g. http://127.0.0.1:3000)`, 2);
    }
  } else {
    const rawPort = values.port ?? (env.PORT || undefined);
    const port =
      rawPort === undefined ? { ok: true as const, value: 3000 } : SETTINGS.port.parse(rawPort);
    if (!port.ok) throw new CliError(`PORT=${rawPort}: ${port.error}`, 2);
    const host = values.host ?? (env.HOST?.trim() || "127.0.0.1");
    url = new URL(localUrl(host, port.value));
  }
  const base = url.origin;
  if (env.ADMIN_TOKEN) return { url: base, token: env.ADMIN_TOKEN, tokenSource: "ADMIN_TOKEN" };
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  if (!LOCAL.has(url.hostname)) return { url: base, token: null, tokenSource: "none" };
  const file = tokenFilePath(port);
  return { url: base, token: readTokenFile(port), tokenSource: file };
}

/** One admin request; every way it can fail becomes a CliError with one clear line. */
export async function adminFetch(
  target: Target,
  path: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${target.url}${path}`, {
      method: init.method ?? "GET",
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === "ConnectionRefused" || code === "ECONNREFUSED"
        ? "connection refused"
        : (error as Error).name === "TimeoutError"
          ? "no answer within 5 s"
          : (error as Error).message;
    throw new CliError(
      `no fleet answers at ${target.url} (${why}); is it running (bun run start)?`,
    );
  }
  const text = await res.text();
  if (res.status === 401) {
    throw new CliError(
      target.token
        ? `the fleet at ${target.url} refused the admin token from ${target.tokenSource} (401)`
        : `the fleet at ${target.url} needs its admin token: set ADMIN_TOKEN (no token file at ${target.tokenSource})`,
    );
  }
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (!res.ok) {
    const error = (body as { error?: string })?.error ?? text.slice(0, 200);
    throw new CliError(`${init.method ?? "GET"} ${path} answered ${res.status}: ${error}`);
  }
  return body;
}

/** Parses the common options plus `extra` ones; `--help` prints `usage` and exits 0. */
export function cliArgs<E extends Record<string, { type: "boolean" | "string" }>>(
  argv: string[],
  usage: string,
  extra: E,
  positionals = false,
) {
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        url: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        help: { type: "boolean", short: "h" },
        ...extra,
      },
      strict: true,
      allowPositionals: positionals,
    });
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    throw new CliError(`${(error as Error).message.split("\n")[0]} (see --help)`, 2);
  }
}

/** Runs a command: a CliError prints one line on stderr and exits with its code. */
export async function runCli(command: () => Promise<void>): Promise<never> {
  try {
    await command();
    process.exit(0);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`bun-fleet: ${error.message}\n`);
      process.exit(error.code);
    }
    process.stderr.write(`bun-fleet: unexpected error: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** Common options, for each command's --help. */
export const COMMON_OPTIONS = `Which fleet: PORT and HOST (as for bun run start), or --port <n>, --host <addr>,
  --url <http://host:port>; with none of them (and no ADMIN_TOKEN), the one fleet of this user
  running on this machine with a generated token, else 127.0.0.1:3000.
The token: ADMIN_TOKEN, else the token file a fleet on this machine generated at start.`;
