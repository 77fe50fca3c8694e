/**
 * Which errors are the database refusing (503, retry later) rather than a query being wrong
 * (500), and what to call each in a log line.
 */
import { isBusy, SqliteBusy } from "./sqlite.ts";

export type RefusalKind = "refused" | "down" | "auth" | "full" | "pooler" | "timeout" | "busy";

export interface Refusal {
  kind: RefusalKind;
  /** How the database answered, for a log line: "is not reachable", "refused the connection". */
  state: string;
  /** What happened, for a log line: "too many clients (the server's max_connections is reached)". */
  what: string;
  /** Seconds a client is asked to wait (Retry-After). */
  retryAfterS: number;
}

const WHAT: Record<RefusalKind, string> = {
  refused: "connection refused",
  down: "connection lost (the server is down or restarting)",
  auth: "authentication failed",
  full: "too many clients (the server's max_connections is reached)",
  pooler: "refused by the pooler",
  timeout: "timed out",
  busy: "the SQLite write lock is held by another connection",
};

const STATE: Record<RefusalKind, string> = {
  refused: "is not reachable",
  down: "is not reachable",
  auth: "refused the connection",
  full: "refused the connection",
  pooler: "refused the connection",
  timeout: "did not answer in time",
  busy: "did not answer in time",
};

/** A pooler's own refusals (PgBouncer answers them as SQLSTATE 08P01 with these texts). */
const POOLER =
  /pgbouncer|max_client_conn|server_login_retry|query_wait_timeout|client_login_timeout|no more connections allowed|server conn crashed|no such database/i;

function kindOf(error: unknown): RefusalKind | null {
  if (error instanceof SqliteBusy || isBusy(error)) return "busy";
  const { code, errno, message } = (error ?? {}) as {
    code?: unknown;
    errno?: unknown;
    message?: unknown;
  };
  const state = typeof errno === "string" ? errno : "";
  const text = typeof message === "string" ? message : "";
  if (typeof code === "string") {
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH")
      return "refused";
    if (code === "ETIMEDOUT" || code === "ERR_POSTGRES_CONNECTION_TIMEOUT") return "timeout";
    if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_IOERR")) return "down";
  }
  if (state === "53300") return "full";
  if (/^28(000|P01)$/.test(state)) return "auth";
  if (state === "57014" || state === "55P03") return "timeout"; // statement / lock timeout
  if (POOLER.test(text) && (state === "" || state.startsWith("08"))) return "pooler";
  if (state.startsWith("08") || /^57P0[1-3]$/.test(state)) return "down";
  if (typeof code === "string") {
    if (code === "ERR_POSTGRES_CONNECTION_CLOSED" && /refused/i.test(text)) return "refused";
    if (code.startsWith("ERR_POSTGRES_CONNECTION") || code === "ERR_POSTGRES_IDLE_TIMEOUT")
      return "down";
    if (code === "ECONNRESET" || code === "EPIPE") return "down";
  }
  return null;
}

/** The refusal `error` is, or null when it is not one (a wrong query: a bug, 500). */
export function refusal(error: unknown): Refusal | null {
  const kind = kindOf(error);
  if (!kind) return null;
  const retryAfterS = kind === "refused" || kind === "down" || kind === "auth" ? 5 : 1;
  return { kind, state: STATE[kind], what: WHAT[kind], retryAfterS };
}
