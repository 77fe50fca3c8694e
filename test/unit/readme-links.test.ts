import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Glob } from "bun";
import { ROOT } from "../helpers/fleet.ts";

/**
 * The README is split by audience (the how-to at the root; the runtime's design in workers/, the
 * benchmark in scripts/bench/, deployment in deploy/): every relative link between them, and every
 * `#anchor`, must lead somewhere.
 */

/** Every README.md of the project (not of its dependencies or build output). */
function readmes(): string[] {
  const skip = /(^|\/)(node_modules|dist|\.git)\//;
  return [...new Glob("**/README.md").scanSync({ cwd: ROOT, dot: false })]
    .filter((path) => !skip.test(path))
    .sort();
}

/** The text with fenced code blocks and inline code removed: links there are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lowercased, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors a markdown file offers (a repeated heading gets -1, -2, … as on GitHub). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, "");
  for (const [, heading] of text.matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug((heading as string).replace(/[`*_]/g, (c) => (c === "_" ? "_" : "")));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

/** `[text](target)` links whose target is relative (no scheme), with their line numbers. */
function relativeLinks(markdown: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  prose(markdown)
    .split("\n")
    .forEach((text, i) => {
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (!/^[a-z][a-z0-9+.-]*:/i.test(target as string))
          links.push({ target: target as string, line: i + 1 });
      }
    });
  return links;
}

describe("README links", () => {
  test("the slug of a heading is GitHub's", () => {
    expect(slug("Pub/sub across the fleet")).toBe("pubsub-across-the-fleet");
    expect(slug("Developing with bun run dev")).toBe("developing-with-bun-run-dev");
    expect(slug("Draining: streams and WebSockets, measured")).toBe(
      "draining-streams-and-websockets-measured",
    );
    expect([...anchors("# A\n## B\n```\n# not\n```\n## B\n")]).toEqual(["a", "b", "b-1"]);
  });

  test("the root README links the three READMEs beside the code", () => {
    const root = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const path of ["workers/README.md", "scripts/bench/README.md", "deploy/README.md"])
      expect(root).toContain(`](${path}`);
  });

  test("every relative link in every README.md names a file that exists, and an anchor it has", () => {
    const files = readmes();
    expect(files).toContain("README.md");
    expect(files.length).toBeGreaterThanOrEqual(4);
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const { target, line } of relativeLinks(text)) {
        const [path = "", anchor] = target.split("#", 2);
        const resolved = path === "" ? join(ROOT, file) : join(ROOT, dirname(file), path);
        const where = `${file}:${line}: ${target}`;
        if (!existsSync(resolved)) {
          broken.push(`${where} (no such file: ${relative(ROOT, resolved)})`);
          continue;
        }
        if (anchor === undefined || !resolved.endsWith(".md") || statSync(resolved).isDirectory())
          continue;
        if (!anchors(readFileSync(resolved, "utf8")).has(anchor))
          broken.push(`${where} (no heading with that anchor)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
