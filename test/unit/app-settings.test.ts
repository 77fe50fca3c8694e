import { describe, expect, test } from "bun:test";
import { z } from "zod";
import {
  appMarkdownTable,
  appSettingRows,
  appSettingsSchema,
  readAppSettings,
} from "../../workers/primary/config/app-settings.ts";

const schema = z.object({
  TOKEN: z.string().min(4).describe("a secret"),
  COUNT: z.coerce.number().int().min(1).default(5).describe("how many"),
  ON: z
    .enum(["0", "1"])
    .default("0")
    .transform((v) => v === "1")
    .describe("a switch"),
  NOTE: z.string().optional().describe("optional"),
});

describe("readAppSettings", () => {
  test("parses env values, fills defaults, leaves unset optional settings out", () => {
    expect(readAppSettings(schema, { TOKEN: "abcd", COUNT: "9", OTHER: "x" })).toEqual({
      ok: true,
      config: { TOKEN: "abcd", COUNT: 9, ON: false },
    });
  });

  test("an empty env value counts as unset", () => {
    expect(readAppSettings(schema, { TOKEN: "abcd", COUNT: "" })).toMatchObject({
      ok: true,
      config: { COUNT: 5 },
    });
  });

  test("the first wrong setting is named; the value is never echoed", () => {
    const result = readAppSettings(schema, { TOKEN: "ab", COUNT: "3" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toStartWith("TOKEN: ");
    expect(result.message).not.toContain('"ab"');
  });

  test("a schema that produces something other than JSON scalars is refused", () => {
    const dates = z.object({ WHEN: z.coerce.date().default(new Date(0)) });
    expect(readAppSettings(dates, {})).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^WHEN: /),
    });
  });
});

describe("appSettingsSchema", () => {
  test("no export: no app settings", () => {
    expect(appSettingsSchema({}, "/x/hooks.ts")).toBeNull();
  });

  test("something that is not an object schema, or keys that are not env names, are refused", () => {
    expect(() => appSettingsSchema({ settings: { a: 1 } }, "/x/hooks.ts")).toThrow(
      'export "settings" must be an object schema',
    );
    expect(() => appSettingsSchema({ settings: z.object({ apiKey: z.string() }) }, "h.ts")).toThrow(
      'key "apiKey" must be an env name',
    );
  });
});

test("rows: defaults as the schema gives them, required when there is none", () => {
  expect(appSettingRows(schema)).toEqual([
    { env: "TOKEN", defaultText: "required", description: "a secret" },
    { env: "COUNT", defaultText: "5", description: "how many" },
    { env: "ON", defaultText: "false", description: "a switch" },
    { env: "NOTE", defaultText: "unset", description: "optional" },
  ]);
  expect(appMarkdownTable(appSettingRows(schema)).split("\n")[2]).toBe(
    "| `TOKEN` | required | a secret |",
  );
});
