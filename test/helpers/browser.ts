import { type Browser, chromium } from "playwright-core";

/**
 * Debian's chromium (`apt-get install chromium`; .ci/run installs it), headless, without the
 * background traffic this machine's closed network refuses (updates, sync, first-run fetches).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
