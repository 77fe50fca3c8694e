/**
 * Completions written in batches: the jobs of one process that finish in the same turn of the
 * event loop are marked done in one transaction (one commit instead of one each: on SQLite the
 * commit is most of a trivial job's cost). Each caller still learns whether its own job was
 * still its process's (false: the lease was lost).
 */
import { db } from "../db/index.ts";
import { complete } from "./queue.ts";

interface Pending {
  id: number;
  result: unknown;
  resolve: (held: boolean) => void;
  reject: (error: unknown) => void;
}

export class Completions {
  #pending: Pending[] = [];
  #scheduled = false;

  /** Marks job `id` done with `result`; resolves once committed (false: not held any more). */
  add(id: number, result: unknown): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ id, result, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    try {
      const held = await db().transaction(async (tx) => {
        const out: boolean[] = [];
        for (const entry of batch) out.push(await complete(tx, entry.id, entry.result));
        return out;
      });
      batch.forEach((entry, i) => {
        entry.resolve(held[i] ?? false);
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
