import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "bun:test";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  count,
  FIXTURES,
  type Fleet,
  freshFetch,
  NO_EXTRAS,
  startFleet,
  startReadyFleet,
  timed,
  waitFor,
  within,
} from "../helpers/fleet.ts";
import { copyProject } from "../helpers/project.ts";

/** Debian's chromium, driven by playwright-core. */
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/**
 * A copy of the project, so the test can edit app/ the way a developer would. Its app/ is the
 * test's own (test/fixtures/dev-app/), not the template's, which is the user's to replace.
 */
let project = "";
let appFile = "";
let original = "";

beforeAll(() => {
  project = copyProject("fleet-dev-", [
    "workers",
    "scripts",
    "package.json",
    "tsconfig.json",
    "bunfig.toml",
  ]);
  cpSync(join(FIXTURES, "dev-app"), join(project, "app"), { recursive: true });
  appFile = join(project, "app", "index.ts");
  original = readFileSync(appFile, "utf8");
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Env for `bun run dev` in the copy: its own app/, no extras, the dev defaults left to it. */
const devEnv = () => ({
  ...NO_EXTRAS,
  APP_MODULE: appFile,
  WORKERS: "",
  WORKER_INDEX_HEADER: "",
});

/** `bun run dev` in the copy, with the dev defaults (WORKERS, WORKER_INDEX_HEADER) left to it. */
function startDev(env: Record<string, string> = {}): Promise<Fleet> {
  writeFileSync(appFile, original);
  return startReadyFleet({
    script: join(project, "scripts", "dev.ts"),
    cwd: project,
    env: { ...devEnv(), ...env },
  });
}

/** Rewrites the hello route's text in the copy's app/index.ts. */
const greet = (text: string) => writeFileSync(appFile, original.replace("Hello from worker", text));

/** Resolves once every worker answers /hello with `text` on fresh connections. */
async function everyWorkerSays(fleet: Fleet, text: string, timeoutMs: number): Promise<void> {
  const seen = new Set<string>();
  await waitFor(
    `both workers to answer "${text}"`,
    async () => {
      const res = await freshFetch(fleet.url("/hello"));
      if ((await res.text()).startsWith(text)) seen.add(res.headers.get("x-worker-index") ?? "");
      return seen.has("0") && seen.has("1");
    },
    timeoutMs,
    5,
  );
}

describe("bun run dev", () => {
  test("a save in app/ reaches every worker within 3 s, no request fails meanwhile, and an open page reloads itself onto the new code", async () => {
    const fleet = await startDev();
    expect(fleet.stdout()).toContain("with 2 worker(s)");
    expect(fleet.stdout()).toContain("dev: watching app/");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    onTestFinished(() => browser.close());
    const page = await browser.newPage();
    let loads = 0;
    page.on("load", () => {
      loads += 1;
    });
    // The workers that served before the save; none may be alive when the page reloads.
    const oldPids = (/worker pids (\d+), (\d+)/.exec(fleet.stdout()) ?? []).slice(1).map(Number);
    expect(oldPids).toHaveLength(2);
    let aliveAtReload = null as number[] | null;
    let navigations = 0;
    page.on("request", (request) => {
      if (!request.isNavigationRequest() || ++navigations !== 2) return;
      aliveAtReload = oldPids.filter((pid) => fleet.pids().includes(pid));
    });
    const listening = page.waitForResponse((res) => res.url().endsWith("/__livereload"));
    await page.goto(fleet.url("/"));
    await listening;
    expect(await page.content()).toContain("bun run dev: live reload");
    expect(await (await fetch(fleet.url("/hello"))).text()).not.toContain("__livereload");
    let ok = 0;
    const failures: string[] = [];
    let loading = true;
    const client = async () => {
      while (loading) {
        try {
          const res = await fetch(fleet.url("/hello"));
          await res.text();
          if (res.status === 200) ok += 1;
          else failures.push(`status ${res.status}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = [client(), client()];
    await Bun.sleep(100); // the load is running before the save
    const saved = performance.now();
    greet("Edited by worker");
    try {
      await everyWorkerSays(fleet, "Edited by worker", 3000);
      expect(performance.now() - saved).toBeLessThan(3000);
      // Keep loading until the old workers are gone: their retirement is where requests fail.
      await waitFor("the reload to finish", () => fleet.stderr().includes("reloaded in"));
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(fleet.stderr()).toContain("app/index.ts changed: rolling reload");
    // The page reloads once the old workers are gone, so what it fetches then is the new code.
    await waitFor("the page to reload itself", () => loads === 2, 5000);
    expect(aliveAtReload).toEqual([]);
    // The page's event stream did not hold its old worker open until the deadline.
    expect(fleet.stderr()).not.toContain("cut at its deadline");
    const hello = await page.evaluate(() => fetch("/hello").then((res) => res.text()));
    expect(hello).toStartWith("Edited by worker");
    expect((await freshFetch(fleet.url("/hello"))).headers.has("x-worker-index")).toBe(true);
    // One Ctrl-C often arrives twice (terminal and bun run): still one clean stop.
    fleet.kill("SIGINT");
    fleet.kill("SIGINT");
    expect(await fleet.exited).toBe(0);
  });

  test("a broken edit keeps the last good code serving and says why; fixing it recovers", async () => {
    const fleet = await startDev();
    writeFileSync(appFile, `${original}\nexport const broken = ;\n`);
    await waitFor("the reload to be refused", () =>
      fleet.stderr().includes("the last good workers keep serving"),
    );
    expect(fleet.stderr()).toMatch(/failed to boot: Unexpected ; \(app\/index\.ts:\d+:\d+\)/);
    for (let i = 0; i < 10; i++) {
      const res = await freshFetch(fleet.url("/hello"));
      expect(await res.text()).toStartWith("Hello from worker");
    }
    greet("Fixed by worker");
    await everyWorkerSays(fleet, "Fixed by worker", 3000);
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });

  test("a save with syntax errors prints every error once, with its place and code frame", async () => {
    const fleet = await startDev();
    const lines = original.split("\n").length; // the appended code starts on the next line
    const refused = (n: number) => () =>
      count(fleet.stderr(), /the last good workers keep serving/g) >= n;
    /** What the worker printed for the save, from its "failed to boot" line to the primary's. */
    const report = (n: number) => {
      const text = fleet.stderr().split(/^.* error \[worker \d+ pid \d+\] failed to boot: /m)[n];
      return `failed to boot: ${text?.split(/^\S+ error \[primary /m)[0]}`;
    };

    writeFileSync(appFile, `${original}\nexport const broken = ;\n`);
    await waitFor("the first broken save to be refused", refused(1));
    const one = report(1);
    expect(one).toBe(
      `failed to boot: Unexpected ; (app/index.ts:${lines + 1}:23)\n` +
        `    ${lines + 1} | export const broken = ;\n` +
        `    ${" ".repeat(String(lines + 1).length)} |                       ^\n`,
    );

    const three = ["const a = 1;", "const a = 2;", "let b = 1;", "let b = 3;", "function f() {"];
    writeFileSync(appFile, `${original}\n${three.join("\n")}\n  await 1;\n}\n`);
    await waitFor("the second broken save to be refused", refused(2));
    const frame = (line: number, text: string, caret: number) =>
      `    ${line} | ${text}\n    ${" ".repeat(String(line).length)} | ${" ".repeat(caret - 1)}^\n`;
    expect(report(2)).toBe(
      "failed to boot: 3 errors building app/index.ts\n" +
        `  "a" has already been declared (app/index.ts:${lines + 2}:7)\n` +
        frame(lines + 2, "const a = 2;", 7) +
        `  "b" has already been declared (app/index.ts:${lines + 4}:5)\n` +
        frame(lines + 4, "let b = 3;", 5) +
        `  "await" can only be used inside an "async" function (app/index.ts:${lines + 6}:9)\n` +
        frame(lines + 6, "  await 1;", 9),
    );
    // Once: no second line repeating the message (`err=…`), no frame printed twice.
    expect(fleet.stderr()).not.toContain("err=");
    expect(count(fleet.stderr(), /\| let b = 3;/g)).toBe(1);
    expect(count(fleet.stderr(), /\| export const broken = ;/g)).toBe(1);
    fleet.kill("SIGTERM");
    expect(await fleet.exited).toBe(0);
  });
});

describe("bun run dev after a failed start", () => {
  const waiting = "Fix it and save to start again, or Ctrl-C.";

  /** `bun run dev` on code that does not load: it does not get to its banner. */
  function startBroken(): Promise<Fleet> {
    writeFileSync(appFile, `${original}\nexport const broken = ;\n`);
    return startFleet({
      script: join(project, "scripts", "dev.ts"),
      cwd: project,
      env: devEnv(),
    });
  }

  test("waits for the next save instead of exiting, then starts the fleet", async () => {
    const fleet = await startBroken();
    await waitFor("the wait for a fix", () => fleet.stderr().includes(waiting));
    expect(fleet.stderr()).toContain("stopped (boot-failure)");
    expect(fleet.pids()).toEqual([fleet.pid]); // only the waiting primary: no worker
    writeFileSync(appFile, original);
    // As long as startReadyFleet waits for a banner: a fresh start under a loaded machine.
    await waitFor("the banner", () => fleet.stdout().includes("bun-fleet: serving"), 10_000);
    expect(fleet.stderr()).toContain("app/index.ts changed: starting again");
    expect(await (await fetch(fleet.url("/hello"))).text()).toStartWith("Hello from worker");
    fleet.kill("SIGINT");
    expect(await fleet.exited).toBe(0);
  });

  test("a failing setup fixed by a save runs again as saved (the hooks module is loaded afresh)", async () => {
    const hooksFile = join(project, "app", "dev-hooks.ts");
    const setupReturns = (body: string) =>
      writeFileSync(hooksFile, `export function setup() {\n  ${body};\n}\n`);
    setupReturns('throw new Error("dev fixture: setup failed")');
    writeFileSync(appFile, original);
    const fleet = await startFleet({
      script: join(project, "scripts", "dev.ts"),
      cwd: project,
      env: { ...devEnv(), HOOKS_MODULE: hooksFile },
    });
    try {
      await waitFor("the wait for a fix", () => fleet.stderr().includes(waiting));
      expect(fleet.stderr()).toContain("dev fixture: setup failed");
      setupReturns('return { fixed: "yes" }');
      await waitFor("the banner", () => fleet.stdout().includes("bun-fleet: serving"), 10_000);
      expect(count(fleet.stderr(), /dev fixture: setup failed/g)).toBe(1);
      fleet.kill("SIGINT");
      expect(await fleet.exited).toBe(0);
    } finally {
      rmSync(hooksFile, { force: true });
    }
  });

  test("Ctrl-C while it waits quits at once, leaving nothing behind", async () => {
    const fleet = await startBroken();
    await waitFor("the wait for a fix", () => fleet.stderr().includes(waiting));
    fleet.kill("SIGINT");
    const { ms, value: code } = await timed(fleet.exited);
    expect(ms).toBeLessThan(within(1000));
    expect(code).toBe(130); // the default action of SIGINT: no handler is left installed
    expect(fleet.pids()).toEqual([]);
  });
});

describe("live reload", () => {
  test("bun run start neither injects the live-reload client nor serves /__livereload", async () => {
    const start = await startReadyFleet({ env: { ...NO_EXTRAS, WORKERS: "1" } });
    const page = await fetch(start.url("/"));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("</body>");
    expect(html).not.toContain("__livereload");
    expect((await fetch(start.url("/__livereload"))).status).toBe(404);
  });
});
