/**
 * Reading a child's output: all of it as text so far (`collect`), or line by line, bounded, to
 * wait for its ready line and quote it on error (`Lines`).
 */

/** Collects a child's output stream as it arrives; call the result for the text so far. */
export function collect(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return () => text;
}

/** The lines a child prints, kept (bounded) so we can wait for one and show the tail on error. */
export class Lines {
  readonly #lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #followers = new Set<(line: string) => void>();
  #closed = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of stream) {
        pending += decoder.decode(chunk, { stream: true });
        const parts = pending.split("\n");
        pending = parts.pop() ?? "";
        for (const line of parts) this.#push(line);
      }
    } catch {
      // the stream errors when the child is killed; what we have is what there is
    }
    if (pending) this.#push(pending);
    this.#closed = true;
    this.#wake();
  }

  #push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > 500) this.#lines.shift();
    for (const follower of this.#followers) follower(line);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** The first line matching `pattern`, waiting at most `timeoutMs`; throws on close or timeout. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const line of this.#lines) {
        const match = line.match(pattern);
        if (match) return match;
      }
      const left = deadline - performance.now();
      if (this.#closed) throw new Error(`output ended before a line matching ${pattern}`);
      if (left <= 0) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#waiters.add(resolve);
        setTimeout(resolve, left);
      });
    }
  }

  /** Calls `listener` with every line kept so far, then with each line as it arrives. */
  follow(listener: (line: string) => void): void {
    for (const line of this.#lines) listener(line);
    this.#followers.add(listener);
  }

  /** The last `n` lines, for error messages. */
  tail(n = 20): string {
    return this.#lines.slice(-n).join("\n");
  }
}
