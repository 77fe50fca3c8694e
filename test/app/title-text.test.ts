import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import fc from "fast-check";
import { closeDb, openDb } from "../../app/db/index.ts";
import { migrate } from "../../app/db/migrate.ts";
import { parseDatabaseUrl, type Target } from "../../app/db/url.ts";
import { createApp } from "../../app/index.ts";
import { postgresForFile } from "../helpers/postgres.ts";
import { fakeWorker } from "../helpers/worker.ts";

/**
 * The title oracle, checked with generated text on SQLite and PostgreSQL through the real app:
 * a title of Unicode scalar values without U+0000 whose trimmed form has 1–200 code points is
 * stored and read back exactly; anything else is a 422; both databases answer alike.
 */

const { tmp, pg } = postgresForFile("bun-fleet-title-", {
  beforeStop: () => closeDb(Date.now() + 1000),
});

const DATABASES: [string, () => Promise<string>][] = [
  ["sqlite", async () => `sqlite://${join(tmp, "titles.db")}`],
  ["postgres", () => pg().url("titles")],
];

/** What the README promises for a title: the stored text, or 422. */
function expected(title: string): { status: 201; title: string } | { status: 422 } {
  const trimmed = title.trim();
  const codePoints = [...trimmed].length;
  const valid =
    title.isWellFormed() && !trimmed.includes("\0") && codePoints >= 1 && codePoints <= 200;
  return valid ? { status: 201, title: trimmed } : { status: 422 };
}

/** Pieces of text that trip databases and length counts up. */
const TRICKY = [
  "\uFEFF", // BOM (JavaScript's trim strips it at either end)
  "\u200F", // RTL mark
  "\u202E", // RTL override
  "\u2066", // LTR isolate
  "😀", // 4 bytes in UTF-8, 2 UTF-16 units
  "𝄞",
  "e\u0301", // combining acute accent
  "\u0300",
  "\u0000",
  "\uD800", // lone surrogates: not scalar values
  "\uDFFF",
  " ",
  "\t",
  "\u00A0",
  "\u2028",
  "\uFFFF",
  "\uFFFD",
  "a",
  "İ",
];
const unit = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
);
const titles = fc.oneof(
  fc.string({ unit, maxLength: 8 }),
  fc.string({ unit, minLength: 95, maxLength: 105 }),
  fc.string({ unit, minLength: 190, maxLength: 210 }),
);
const EXAMPLES = [
  "😀".repeat(200), // 200 code points, 400 UTF-16 units: stored
  "😀".repeat(201),
  `${"e\u0301".repeat(100)}`, // 200 code points
  "\u0000",
  "a\u0000b",
  "\u0000abc",
  "\uD800",
  "ab\uDC00",
  "a\uFEFFb",
  "\uFEFFa\u200F",
  "   ",
];

type Answer = {
  status: number;
  title?: string;
  readBack?: string;
  patched?: number;
  patchedBack?: string;
};

describe("todo titles on SQLite and PostgreSQL", () => {
  const app = createApp(fakeWorker());
  const json = { "content-type": "application/json" };

  const read = async (id: number) =>
    ((await (await app.request(`/api/todos/${id}`)).json()) as { title: string }).title;

  /** POST the title and GET what was stored; PATCH it onto `existing` and GET that too. */
  async function answer(title: string, existing: number): Promise<Answer> {
    const body = JSON.stringify({ title }); // a lone surrogate goes as "\ud800"
    const patch = await app.request(`/api/todos/${existing}`, {
      method: "PATCH",
      headers: json,
      body,
    });
    const patched = { patched: patch.status, patchedBack: await read(existing) };
    const res = await app.request("/api/todos", { method: "POST", headers: json, body });
    if (res.status !== 201) return { status: res.status, ...patched };
    const created = (await res.json()) as { id: number; title: string };
    return { status: 201, title: created.title, readBack: await read(created.id), ...patched };
  }

  test("generated titles: created and patched byte for byte, or 422, the same answers on both databases", async () => {
    const answers: Record<string, Answer[]> = {};
    for (const [dialect, url] of DATABASES) {
      await closeDb(Date.now() + 1000);
      const target = parseDatabaseUrl(await url()) as Target;
      await migrate(target);
      await openDb(target, { max: 2, applicationName: "title test" });
      const seen: Answer[] = [];
      answers[dialect] = seen;
      const existing = (
        (await (
          await app.request("/api/todos", {
            method: "POST",
            headers: json,
            body: JSON.stringify({ title: "before" }),
          })
        ).json()) as { id: number }
      ).id;
      let previous = "before"; // what a refused PATCH must leave in place
      await fc.assert(
        fc.asyncProperty(titles, async (title) => {
          const got = await answer(title, existing);
          seen.push(got);
          const want = expected(title);
          // Byte for byte: the UTF-8 of what was sent (trimmed) and of what was read back.
          const bytes = (s?: string) => Buffer.from(s ?? "", "utf8").toString("hex");
          if (want.status === 422) {
            return (
              got.status === 422 &&
              got.patched === 422 &&
              bytes(got.patchedBack) === bytes(previous)
            );
          }
          previous = want.title;
          return (
            got.status === 201 &&
            bytes(got.title) === bytes(want.title) &&
            bytes(got.readBack) === bytes(want.title) &&
            got.patched === 200 &&
            bytes(got.patchedBack) === bytes(want.title)
          );
        }),
        { seed: 2126, numRuns: 300, examples: EXAMPLES.map((e) => [e]) },
      );
    }
    expect(answers.postgres).toEqual(answers.sqlite as Answer[]);
    const statuses = new Set(answers.sqlite?.map((a) => a.status));
    expect([...statuses].sort()).toEqual([201, 422]); // both outcomes were exercised
  }, 60_000);

  test("a 422 names the rule: NUL, a lone surrogate, the length in code points", async () => {
    const issue = async (title: string) => {
      const res = await app.request("/api/todos", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ title }),
      });
      expect(res.status).toBe(422);
      return ((await res.json()) as { issues: { message: string }[] }).issues[0]?.message;
    };
    expect(await issue("a\u0000")).toBe("U+0000 (NUL) is not allowed");
    expect(await issue("a\uD800")).toBe("not Unicode text (a lone surrogate)");
    expect(await issue("😀".repeat(201))).toContain("200");
    expect(await issue(" \uFEFF ")).toContain("1");
  });
});
