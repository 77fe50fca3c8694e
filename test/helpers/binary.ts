import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "../../scripts/build.ts";
import { ROOT } from "./fleet.ts";
import { copyProject } from "./project.ts";

/** Where test builds are kept between runs, by source hash (git-ignored: test/output/). */
const CACHE = join(ROOT, "test", "output", "bun-fleet");

/** What a build is made of: the tree it embeds and the build itself. */
const SOURCES = [
  "app",
  "workers",
  "scripts/bin.ts",
  "scripts/build.ts",
  "package.json",
  "bun.lock",
];

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  const stat = readdirSync(path, { withFileTypes: true });
  return stat.flatMap((entry) =>
    entry.isDirectory() ? files(join(path, entry.name)) : [join(path, entry.name)],
  );
}

function sourceFiles(root: string): string[] {
  return SOURCES.flatMap((source) => {
    const path = join(root, source);
    if (!existsSync(path)) return [];
    return source.includes(".") ? [path] : files(path);
  }).sort();
}

/** A hash of everything a build of `root` depends on, Bun's version included. */
export function sourceHash(root = ROOT): string {
  const hash = new Bun.CryptoHasher("sha256");
  hash.update(`${Bun.version}\0`);
  for (const file of sourceFiles(root)) {
    hash.update(`${relative(root, file)}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * `dist/bun-fleet` of this tree, built at most once per source hash (then reused by every test
 * and later runs). `variant` edits a copy of the tree first (the "new release" of an upgrade).
 */
export async function builtBinary(variant?: {
  name: string;
  edit: (root: string) => void;
}): Promise<string> {
  const key = sourceHash(ROOT);
  // A variant's name and edit are part of its key: a changed edit builds anew.
  const edit = variant && Bun.hash(variant.edit.toString()).toString(36);
  const outfile = join(CACHE, variant ? `${key}-${variant.name}-${edit}` : key, "bun-fleet");
  if (existsSync(outfile)) return outfile;
  // Each build is ~105 MB: builds of older sources go.
  for (const old of existsSync(CACHE) ? readdirSync(CACHE) : []) {
    if (!old.startsWith(key)) rmSync(join(CACHE, old), { recursive: true, force: true });
  }
  let root = ROOT;
  if (variant) {
    // The copy lives outside the project (its tests and type check must not see it).
    root = copyProject(`bun-fleet-${variant.name}-`, SOURCES);
    variant.edit(root);
  }
  try {
    await build(outfile, root);
  } finally {
    if (variant) rmSync(root, { recursive: true, force: true });
  }
  return outfile;
}

/** Replaces `from` by `to` in a file of a copied tree (a variant's edit). */
export function replaceIn(root: string, file: string, from: string, to: string): void {
  const path = join(root, file);
  const text = readFileSync(path, "utf8");
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`);
  writeFileSync(path, text.replace(from, to));
}
