import { existsSync, type FSWatcher, watch } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import type { Log } from "../../log.ts";
import type { FleetConfig } from "../config/config.ts";
import type { Primary } from "../primary.ts";
import { LiveReloadHub } from "./live-reload.ts";

/** Saves within this long count as one change (editors write a file in several steps). */
export const DEV_DEBOUNCE_MS = 100;

/** Editor droppings that are not the app: swap, backup and probe files. */
const IGNORED = /(^\.|~$|\.sw[a-p]$|\.tmp$|^4913$)/;

const shown = (path: string) => relative(process.cwd(), path) || ".";

/** What `bun run dev` watches: `app/`, and the app module's directory when it lies elsewhere. */
export function watchedDirs(root: string, appModule: string): string[] {
  const app = join(root, "app");
  const dir = resolve(appModule, "..");
  return relative(app, dir).startsWith("..") ? [app, dir] : [app];
}

/**
 * Watches `dirs` recursively and calls `onChange` with the files changed (as the user would
 * name them), once saves have paused for DEV_DEBOUNCE_MS. Returns a function that stops it.
 */
export function watchDirs(dirs: string[], log: Log, onChange: (files: string[]) => void) {
  const changed = new Set<string>();
  let timer: Timer | undefined;
  const fire = () => {
    // Editors and `sed -i` write a temporary file and rename it: name the files still there.
    const present = [...changed].filter((file) => existsSync(file));
    const files = present.length ? present : [...changed];
    changed.clear();
    onChange(files);
  };
  const watchers: FSWatcher[] = dirs.map((dir) => {
    const watcher = watch(dir, { recursive: true }, (_event, file) => {
      if (!file || IGNORED.test(basename(file))) return;
      changed.add(shown(join(dir, file)));
      clearTimeout(timer);
      timer = setTimeout(fire, DEV_DEBOUNCE_MS);
    });
    // An unhandled watcher error would crash the primary: the fleet serves on, unwatched.
    watcher.on("error", (error) => {
      log.error(`stopped watching ${shown(dir)}: ${error.message}; restart bun run dev`);
    });
    return watcher;
  });
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}

/** "app/index.ts" or "3 files", for log lines. */
export const describeFiles = (files: string[]) =>
  files.length === 1 ? (files[0] as string) : `${files.length} files`;

/**
 * `bun run dev`, in the primary: answers a change in the watched directories with a rolling
 * reload; `bun --watch` cannot, as it follows only the primary's own imports. The last good
 * workers keep serving when the new code fails to load; pages reload themselves once a reload
 * has completed. Returns a function that stops watching.
 */
export function startDevMode(primary: Primary, config: FleetConfig, root: string, log: Log) {
  const hub = new LiveReloadHub(log);
  let started = 0;

  primary.on("ready", (worker) => hub.ready(worker));
  primary.on("reloaded", (outcome) => {
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
  });

  return watchDirs(watchedDirs(root, config.appModule), log, (files) => {
    started = performance.now();
    const what = describeFiles(files);
    log.info(`${what} changed: rolling reload`);
    if (files.includes(shown(config.hooksModule))) {
      log.info(
        "the hooks module changed: onStart/onShutdown reload with the workers; setup and extras run once at start, so restart `bun run dev` for those",
      );
    }
    primary.reload(`${what} changed`);
  });
}

/** Resolves with the files of the next change in the watched directories (after a failed start). */
export function nextChange(dirs: string[], log: Log): Promise<string[]> {
  return new Promise((resolve) => {
    const stop = watchDirs(dirs, log, (files) => {
      stop();
      resolve(files);
    });
  });
}
