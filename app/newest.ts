/**
 * The ordering recipe for pub/sub state (README, "Pub/sub across the fleet"): `worker.publish`
 * keeps each publisher's order, but messages from different workers may reach a subscriber in
 * any order, so an update can arrive after a newer one. Give every state message a per-key
 * version from the one place that orders writes (the database row's `version = version + 1`),
 * and keep only what is newer than the newest seen:
 *
 *     const newest = new NewestVersions();
 *     worker.subscribe("todo", (data) => {
 *       const todo = JSON.parse(data as string);
 *       if (newest.accept(String(todo.id), todo.version)) cache.set(todo.id, todo);
 *     });
 *
 * It remembers at most `maxKeys` keys (the least recently updated is forgotten first), so memory
 * stays bounded; a stale message for a forgotten key is accepted again, so size it to the state
 * it guards (a cache that stores the version beside each value needs no separate map).
 */
export class NewestVersions {
  readonly #versions = new Map<string, number>();

  constructor(readonly maxKeys = 10_000) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError(`NewestVersions: maxKeys must be a whole number >= 1 (got ${maxKeys})`);
    }
  }

  /**
   * True, and remembered, when `version` is newer than every version seen for `key`; false for an
   * older or repeated one (drop that message). Throws on a version that is not a finite number.
   */
  accept(key: string, version: number): boolean {
    if (typeof version !== "number" || !Number.isFinite(version)) {
      throw new TypeError(`NewestVersions: the version of ${key} must be a finite number`);
    }
    const seen = this.#versions.get(key);
    if (seen !== undefined && version <= seen) return false;
    this.#versions.delete(key); // inserted again: the Map's first key is the least recently updated
    this.#versions.set(key, version);
    if (this.#versions.size > this.maxKeys) {
      for (const oldest of this.#versions.keys()) {
        this.#versions.delete(oldest);
        break;
      }
    }
    return true;
  }

  /** The newest version seen for `key`, if it is remembered. */
  get(key: string): number | undefined {
    return this.#versions.get(key);
  }
}
