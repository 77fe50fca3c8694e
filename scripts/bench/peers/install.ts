/**
 * The peers are installed on demand, never into this project: `bun add` into a cache folder of
 * their own (BENCH_PEERS_DIR, else $XDG_CACHE_HOME or ~/.cache, /bun-fleet-bench/peers), reused
 * while the installed version still fits. A peer that cannot be installed comes back with the
 * reason, so the table can say so instead of dropping the row.
 *
 * Overrides (env): BENCH_DENO_SPEC / BENCH_PM2_SPEC (the npm spec; default deno@2.9, pm2@7),
 * BENCH_DENO (a `deno` executable to use instead) and BENCH_PM2 (PM2's `bin/pm2` script).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { outputOf } from "../../lib/procs.ts";

/** The peers that need installing. */
export const PEER_PACKAGES = { deno: "deno@2.9", pm2: "pm2@7" } as const;

/** A peer that needs installing. */
export type PeerName = keyof typeof PEER_PACKAGES;

/** What installing one peer gave: the path to run and its version, or why there is none. */
export type PeerInstall =
  | { name: PeerName; ok: true; path: string; version: string; from: string }
  | { name: PeerName; ok: false; reason: string };

type Env = Record<string, string | undefined>;

/** The cache folder the peers are installed into. */
export function peersDir(env: Env = process.env): string {
  if (env.BENCH_PEERS_DIR) return env.BENCH_PEERS_DIR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cache, "bun-fleet-bench", "peers");
}

const OVERRIDE: Record<PeerName, string> = { deno: "BENCH_DENO", pm2: "BENCH_PM2" };
const SPEC: Record<PeerName, string> = { deno: "BENCH_DENO_SPEC", pm2: "BENCH_PM2_SPEC" };

/** Where a peer lives inside the cache folder once installed. */
function installedPath(name: PeerName, dir: string): string {
  if (name === "pm2") return join(dir, "node_modules", "pm2", "bin", "pm2");
  // the deno package carries the binary in a per-platform optional dependency
  const libc = process.platform === "linux" ? "-glibc" : "";
  const exe = process.platform === "win32" ? "deno.exe" : "deno";
  return join(dir, "node_modules", "@deno", `${process.platform}-${process.arch}${libc}`, exe);
}

function packageVersion(name: PeerName, dir: string): string | null {
  try {
    const file = join(dir, "node_modules", name, "package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** `name@range` → range; null for anything else (a file:, git or URL spec: always reinstalled). */
function rangeOf(name: PeerName, spec: string): string | null {
  const range = spec.startsWith(`${name}@`) ? spec.slice(name.length + 1) : null;
  return range && /^[\w.^~<>=*| -]+$/.test(range) ? range : null;
}

/**
 * The version of what was installed: Deno's from running it (proves the binary runs here), PM2's
 * from its package.json (any PM2 command, even --version, starts a daemon).
 */
async function versionOf(name: PeerName, path: string): Promise<string> {
  if (name === "pm2") {
    const manifest = join(dirname(dirname(path)), "package.json");
    const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version?: string };
    if (!version) throw new Error(`${manifest} names no version`);
    return version;
  }
  const proc = Bun.spawn([path, "--version"], { stdio: ["ignore", "pipe", "pipe"] });
  const { stdout: out, stderr: err, code } = await outputOf(proc, 30_000);
  const text = `${out}\n${err}`.trim();
  if (code !== 0) throw new Error(`${path} --version exited ${code}: ${lastLine(text)}`);
  const version = text.match(/\b(\d+\.\d+\.\d+)\b/)?.[1];
  if (!version) throw new Error(`${path} --version printed no version: ${lastLine(text)}`);
  return version;
}

const lastLine = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter((line) => line.trim())
    .at(-1) ?? "(no output)";

/** `bun add <spec>` in the cache folder (its own package.json), bounded in time. */
async function bunAdd(spec: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const manifest = join(dir, "package.json");
  if (!existsSync(manifest))
    writeFileSync(
      manifest,
      `${JSON.stringify({ name: "bun-fleet-bench-peers", private: true })}\n`,
    );
  const proc = Bun.spawn([process.execPath, "add", spec], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { stdout: out, stderr: err, code } = await outputOf(proc, 300_000);
  if (code !== 0) throw new Error(`bun add ${spec} failed (exit ${code}): ${lastLine(err || out)}`);
}

/** Installs (or finds) one peer; never throws: a failure is returned with its reason. */
export async function installPeer(
  name: PeerName,
  env: Env = process.env,
  log: (line: string) => void = () => {},
): Promise<PeerInstall> {
  const override = env[OVERRIDE[name]];
  try {
    if (override) {
      if (!existsSync(override)) throw new Error(`${OVERRIDE[name]}=${override}: no such file`);
      return {
        name,
        ok: true,
        path: override,
        version: await versionOf(name, override),
        from: OVERRIDE[name],
      };
    }
    const dir = peersDir(env);
    const spec = env[SPEC[name]] || PEER_PACKAGES[name];
    const path = installedPath(name, dir);
    const range = rangeOf(name, spec);
    const have = packageVersion(name, dir);
    const fits =
      range !== null && have !== null && existsSync(path) && Bun.semver.satisfies(have, range);
    if (!fits) {
      log(`installing ${spec} into ${dir}`);
      await bunAdd(spec, dir);
      if (!existsSync(path)) throw new Error(`bun add ${spec} left no ${path}`);
    }
    return { name, ok: true, path, version: await versionOf(name, path), from: spec };
  } catch (error) {
    return { name, ok: false, reason: (error as Error).message };
  }
}
