/**
 * `bun run build`: `dist/bun-fleet`, one executable holding Bun, the runtime (workers/), the app
 * (app/), `app/public/` and the migrations (`app/db/migrations/`, when there are any). Copy it to
 * a machine without Bun and run `./bun-fleet`: it is `bun run start` (same settings and flags),
 * except that it reads no `bunfig.toml` and no `.env` from its working directory.
 *
 * Inside the executable Bun keeps the project tree under `/$bunfs/root/`, and the build makes
 * `import.meta.dir` / `.url` / `.path` of every module of the project point at its place in that
 * mirror (bundled code otherwise sees the directory of the chunk it landed in), so files found
 * next to a module (`app/public/`, the dashboard page, migrations) are found in the binary too.
 *
 *   bun run build [-- --outfile PATH]
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BunPlugin } from "bun";
import type { FleetHooks } from "../workers/fleet.ts";
import { EMBEDDED_ROOT } from "../workers/modules.ts";

export const ROOT = resolve(import.meta.dir, "..");
export const DEFAULT_OUTFILE = join(ROOT, "dist", "bun-fleet");

/** Folders and files embedded as they are, when they exist (paths relative to the root). */
export const ASSETS = ["app/public", "app/db/migrations", "workers/child/http/dashboard.html"];

/** What a build made. */
export interface Built {
  outfile: string;
  bytes: number;
  ms: number;
  entrypoints: string[];
  assets: string[];
}

/** A module path or file URL as a path. */
const asPath = (module: string) => (module.startsWith("file:") ? fileURLToPath(module) : module);

/**
 * What the binary loads by path at run time, so each must be an entry point of the build: the
 * binary's own entry, the default APP_MODULE and HOOKS_MODULE, the extras those hooks name, and
 * scripts/migrate.ts when it exists (`./bun-fleet migrate`).
 */
export async function entrypoints(root = ROOT): Promise<string[]> {
  const hooksPath = join(root, "app", "hooks.ts");
  const entries = [join(root, "scripts", "bin.ts"), join(root, "app", "index.ts"), hooksPath];
  const hooks = (await import(hooksPath)) as FleetHooks;
  for (const extra of hooks.extras ?? []) {
    const path = resolve(root, asPath(extra.module));
    if (relative(root, path).startsWith("..")) {
      throw new Error(
        `extra ${extra.name}: ${extra.module} is outside the project; it cannot be embedded`,
      );
    }
    entries.push(path);
  }
  const migrate = join(root, "scripts", "migrate.ts");
  if (existsSync(migrate)) entries.push(migrate);
  return [...new Set(entries)];
}

/**
 * Rewrites `import.meta.dir|dirname|path|filename|url` and `import.meta.resolve("./relative")`
 * in the project's own modules (not node_modules) to their place under `/$bunfs/root/`. The
 * rewrite is textual: those words inside a string or comment of a module are rewritten too.
 */
export function mirrorImportMeta(root = ROOT): BunPlugin {
  const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return {
    name: "bun-fleet-import-meta",
    setup(build) {
      build.onLoad(
        { filter: new RegExp(`^${escaped}/(?!node_modules/).*\\.[cm]?[jt]sx?$`) },
        async (args) => {
          const source = await Bun.file(args.path).text();
          // Nothing to rewrite: Bun loads it itself, as it was imported (a file imported
          // `with { type: "file" }`, such as the dashboard's browser script, stays a file).
          if (!source.includes("import.meta")) return undefined;
          const path = `${EMBEDDED_ROOT}${relative(root, args.path)}`;
          const url = `file://${path}`;
          const contents = source
            .replace(/\bimport\.meta\.(dir|dirname)\b/g, () => JSON.stringify(dirname(path)))
            .replace(/\bimport\.meta\.(path|filename)\b/g, () => JSON.stringify(path))
            .replace(/\bimport\.meta\.url\b/g, () => JSON.stringify(url))
            .replace(
              /\bimport\.meta\.resolve\(\s*(["'])(\.{1,2}\/[^"']*)\1\s*\)/g,
              (_m, _q, spec) => JSON.stringify(new URL(spec, url).href),
            );
          return { contents, loader: args.path.endsWith("x") ? "tsx" : "ts" };
        },
      );
    },
  };
}

/** Builds the executable into `outfile` (written beside it, then renamed over it: atomic). */
export async function build(outfile = DEFAULT_OUTFILE, root = ROOT): Promise<Built> {
  const started = performance.now();
  const entries = await entrypoints(root);
  const assets = ASSETS.filter((asset) => existsSync(join(root, asset)));
  // Built in a folder of its own beside the target (Bun writes source maps next to the file),
  // then renamed over it: a fleet running the old file keeps running, and reloads the new one.
  mkdirSync(dirname(outfile), { recursive: true });
  const scratch = mkdtempSync(join(dirname(outfile), ".build-"));
  const partial = join(scratch, basename(outfile));
  // Bun embeds an asset folder under its own name (`app/public` would land at `public/`), so the
  // assets are staged in their tree and each top folder is embedded: `app/public/...`.
  const stage = join(scratch, "assets");
  const tops = [...new Set(assets.map((asset) => asset.split("/")[0] as string))];
  try {
    for (const asset of assets) cpSync(join(root, asset), join(stage, asset), { recursive: true });
    const result = await Bun.build({
      entrypoints: entries,
      root,
      target: "bun",
      splitting: true,
      sourcemap: "inline",
      plugins: [mirrorImportMeta(root)],
      compile: {
        outfile: partial,
        assets: tops.map((top) => join(stage, top)),
        // Closed to the directory it runs in: a `bunfig.toml` there (preloads run in every
        // process) or a `.env` there (BUN_OPTIONS=--preload reaches every worker through the
        // environment) would run code nobody shipped. Settings come from the real environment.
        autoloadBunfig: false,
        autoloadDotenv: false,
      },
    });
    if (!result.success) {
      throw new AggregateError(
        result.logs,
        `bun build --compile failed:\n${result.logs.join("\n")}`,
      );
    }
    renameSync(partial, outfile);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return {
    outfile,
    bytes: statSync(outfile).size,
    ms: performance.now() - started,
    entrypoints: entries.map((entry) => relative(root, entry)),
    assets,
  };
}

if (import.meta.main) {
  const at = process.argv.indexOf("--outfile");
  const given = at >= 0 ? process.argv[at + 1] : undefined;
  const outfile = given ? (isAbsolute(given) ? given : resolve(given)) : DEFAULT_OUTFILE;
  try {
    const built = await build(outfile);
    const mb = (built.bytes / 1024 / 1024).toFixed(1);
    console.log(
      `built ${relative(process.cwd(), built.outfile)} (${mb} MiB) in ${Math.round(built.ms)} ms\n` +
        `  entry points: ${built.entrypoints.join(", ")}\n  assets: ${built.assets.join(", ")}`,
    );
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
