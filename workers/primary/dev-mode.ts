import { existsSync, type FSWatcher, watch } from "node:fs";
import { basename, join, relative } from "node:path";
import type { Log } from "../log.ts";
import type { FleetConfig } from "./config.ts";
import { LiveReloadHub } from "./live-reload.ts";
import type { Primary } from "./primary.ts";

/** Saves within this long count as one change (editors write a file in several steps). */
export const DEV_DEBOUNCE_MS = 100;

/** Editor droppings that are not the app: swap, backup and probe files. */
const IGNORED = /(^\.|~$|\.sw[a-p]$|\.tmp$|^4913$)/;

/**
 * `bun run dev`, in the primary: watches the app's directory (recursively) and answers a change
 * with a rolling reload; `bun --watch` cannot, as it follows only the primary's own imports.
 * The last good workers keep serving when the new code fails to load; pages reload themselves
 * once a reload has completed. Returns a function that stops watching.
 */
export function startDevMode(primary: Primary, config: FleetConfig, root: string, log: Log) {
  const hub = new LiveReloadHub(log);
  const changed = new Set<string>();
  let timer: Timer | undefined;
  let started = 0;
  const shown = (dir: string, file: string) => relative(process.cwd(), join(dir, file));

  primary.listeners.ready = (worker) => hub.ready(worker);
  primary.listeners.reloaded = (outcome) => {
    if (outcome === "aborted") {
      log.error(
        "the changed code fails to load (the worker's error is above); the last good workers keep serving. Fix it and save: the fleet reloads by itself.",
      );
      return;
    }
    void hub
      .completed(primary.retiring, () => primary.workers)
      .then(() => {
        log.info(`reloaded in ${Math.round(performance.now() - started)} ms; open pages reload`);
      });
  };

  const reload = () => {
    // Editors and `sed -i` write a temporary file and rename it: name the files still there.
    const present = [...changed].filter((file) => existsSync(file));
    const files = present.length ? present : [...changed];
    changed.clear();
    started = performance.now();
    const what = files.length === 1 ? files[0] : `${files.length} files`;
    log.info(`${what} changed: rolling reload`);
    if (files.some((file) => file === relative(process.cwd(), config.hooksModule))) {
      log.info(
        "the hooks module changed: onStart/onShutdown reload with the workers; setup and extras run in the primary, so restart `bun run dev` for those",
      );
    }
    primary.reload(`${what} changed`);
  };

  const dirs = [join(root, "app")];
  const appDir = join(config.appModule, "..");
  if (relative(dirs[0] as string, appDir).startsWith("..")) dirs.push(appDir);
  const watchers: FSWatcher[] = dirs.map((dir) => {
    const watcher = watch(dir, { recursive: true }, (_event, file) => {
      if (!file || IGNORED.test(basename(file))) return;
      changed.add(shown(dir, file));
      clearTimeout(timer);
      timer = setTimeout(reload, DEV_DEBOUNCE_MS);
    });
    // An unhandled watcher error would crash the primary: the fleet serves on, unwatched.
    watcher.on("error", (error) => {
      log.error(`stopped watching ${shown(dir, "")}: ${error.message}; restart bun run dev`);
    });
    return watcher;
  });
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
