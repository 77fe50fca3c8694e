import { mkdtempSync, rmSync } from "node:fs";
import type { Socket, UnixSocketListener } from "bun";
import type { Log } from "../log.ts";
import type { MeshPeer, Publication } from "../protocol.ts";
import { costOf } from "../pubsub.ts";

/** What the mesh counts (plain numbers; the worker reports them to the primary). */
export interface MeshCounts {
  /** Messages written to a sibling. */
  relayed: number;
  /** Messages not written to a sibling because it was more than `maxLagBytes` behind. */
  dropped: number;
}

/** Longest line accepted from a sibling: a 1 MiB payload escaped as JSON, with room to spare. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

/**
 * One sibling: the one Unix socket between the two of us (either side may have opened it), what
 * was sent on it and acknowledged, and what was received on it.
 */
interface Lane {
  socket: Socket<Lane>;
  /** `worker 1 (pid 123)`, once the hello arrived (null before: nothing is sent on it yet). */
  name: string | null;
  /** Publication cost sent / acknowledged by the sibling (running totals). */
  sentBytes: number;
  ackedBytes: number;
  /** Dropped since the lane last caught up; > 0 means a warning was logged. */
  droppedRun: number;
  /** Lines waiting for this turn's write, and bytes the kernel did not take yet (until drain). */
  out: string[];
  blocked: Uint8Array | null;
  /** Publication cost received from the sibling (running total), and whether to ack it. */
  receivedBytes: number;
  ackDue: boolean;
  decoder: TextDecoder;
  partial: string;
  /** The connecting side waits for the sibling's welcome before this worker serves. */
  welcomed: PromiseWithResolvers<void> | null;
}

/**
 * Fleet-wide pub/sub between HTTP workers, without the primary on the data path: every worker
 * listens on a Unix socket in its own private folder, and each pair of workers shares one socket
 * (opened by whichever started later; the primary tells a new worker who is there). A publish is
 * written to every sibling in publish order, coalesced into one write per sibling per event-loop
 * turn, so each subscriber sees each message once and in order per publisher. Each sibling
 * acknowledges what it has delivered (once per turn); a sibling more than `maxLagBytes` behind
 * gets nothing until it catches up: its messages are dropped, counted and warned about once per
 * episode, so a stalled worker never grows its siblings' memory.
 *
 * Lines on a socket: `h{index,pid}` hello (connecting side), `w{index,pid}` welcome (answer),
 * `p[topic,data,binary]` a publication, `a<bytes>` the running total received.
 */
export class PubSubMesh {
  readonly counts: MeshCounts = { relayed: 0, dropped: 0 };
  readonly #lanes = new Set<Lane>();
  #listener: UnixSocketListener<Lane> | null = null;
  #dir: string | null = null;
  #flushScheduled = false;
  readonly #me: string;

  /** PUBSUB_MAX_LAG_BYTES, as the primary passes it on with the peers. */
  maxLagBytes = Number.POSITIVE_INFINITY;

  constructor(
    index: number,
    private readonly deliver: (publication: Publication) => void,
    /** Called when a drop episode ends (so the counts reach the primary with the warning). */
    private readonly caughtUp: () => void,
    private readonly log: Log,
  ) {
    this.#me = JSON.stringify({ index, pid: process.pid });
  }

  /** Listens in a fresh private folder; returns the socket's path for the primary to pass on. */
  listen(): string {
    const dir = mkdtempSync(`${process.env.TMPDIR || "/tmp"}/bun-fleet-mesh-`);
    this.#dir = dir;
    process.once("exit", () => this.#removeDir());
    const path = `${dir}/${process.pid}.sock`; // the pid lets a later fleet sweep it if we are killed
    this.#listener = Bun.listen<Lane>({ unix: path, socket: this.#handlers(null) });
    return path;
  }

  /** Opens a socket to each sibling; resolves once each welcomed us (or failed, or `timeoutMs`). */
  async join(peers: MeshPeer[], timeoutMs: number): Promise<void> {
    const joined = peers.map(async (peer) => {
      const name = `worker ${peer.index} (pid ${peer.pid})`;
      const welcomed = Promise.withResolvers<void>();
      try {
        await Bun.connect<Lane>({ unix: peer.path, socket: this.#handlers(welcomed) });
      } catch (error) {
        // It exited between the primary's answer and now: nothing to relay to.
        this.log.debug?.(`pub/sub: could not reach ${name}: ${(error as Error).message}`);
        return;
      }
      await welcomed.promise;
    });
    let timer: Timer | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([Promise.all(joined), late]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.log.warn(
        `pub/sub: not every sibling answered within ${timeoutMs} ms; a busy one gets this worker's messages once it reads them, and may miss its own first ones here`,
      );
    }
  }

  /** Writes `publication` to every sibling (this turn, in order), within each one's budget. */
  publish(publication: Publication): void {
    if (this.#lanes.size === 0) return;
    const cost = costOf(publication);
    const line = `p${JSON.stringify([publication.topic, publication.data, publication.binary ? 1 : 0])}\n`;
    for (const lane of this.#lanes) {
      if (lane.name === null) continue; // not yet introduced: cannot have subscribers of ours
      if (lane.sentBytes - lane.ackedBytes + cost > this.maxLagBytes) {
        this.counts.dropped += 1;
        lane.droppedRun += 1;
        if (lane.droppedRun === 1) {
          this.log.warn(
            `pub/sub: ${lane.name} is ${lane.sentBytes - lane.ackedBytes} bytes behind (PUBSUB_MAX_LAG_BYTES ${this.maxLagBytes}); dropping its messages until it catches up`,
          );
        }
        continue;
      }
      if (lane.droppedRun > 0) {
        const dropped = lane.droppedRun;
        lane.droppedRun = 0;
        this.caughtUp();
        this.log.warn(`pub/sub: ${lane.name} caught up; ${dropped} message(s) were dropped for it`);
      }
      lane.sentBytes += cost;
      this.counts.relayed += 1;
      lane.out.push(line);
    }
    this.#scheduleFlush();
  }

  /** Siblings connected and introduced (for tests and status). */
  get size(): number {
    let n = 0;
    for (const lane of this.#lanes) if (lane.name !== null) n += 1;
    return n;
  }

  /** Closes the listener and every socket (the worker is exiting). */
  close(): void {
    this.#listener?.stop(true);
    this.#listener = null;
    for (const lane of this.#lanes) lane.socket.end();
    this.#lanes.clear();
    this.#removeDir();
  }

  #removeDir(): void {
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }

  #handlers(welcomed: PromiseWithResolvers<void> | null) {
    return {
      open: (socket: Socket<Lane>) => {
        const lane: Lane = {
          socket,
          name: null,
          sentBytes: 0,
          ackedBytes: 0,
          droppedRun: 0,
          out: [],
          blocked: null,
          receivedBytes: 0,
          ackDue: false,
          decoder: new TextDecoder(),
          partial: "",
          welcomed,
        };
        socket.data = lane;
        this.#lanes.add(lane);
        if (welcomed) this.#write(lane, `h${this.#me}\n`);
      },
      data: (socket: Socket<Lane>, chunk: Buffer) => this.#read(socket.data, chunk),
      drain: (socket: Socket<Lane>) => this.#drain(socket.data),
      close: (socket: Socket<Lane>) => this.#closed(socket.data),
      error: (socket: Socket<Lane>, error: Error) => {
        this.log.debug?.(`pub/sub: mesh socket error: ${error.message}`);
        this.#closed(socket.data);
      },
    };
  }

  #closed(lane: Lane | undefined): void {
    if (!lane || !this.#lanes.delete(lane)) return;
    lane.welcomed?.resolve(); // a sibling that went away while we joined: nothing to wait for
    if (lane.name) this.log.debug?.(`pub/sub: ${lane.name} left the mesh`);
  }

  #read(lane: Lane, chunk: Buffer): void {
    const text = lane.partial + lane.decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      this.#line(lane, text.slice(start, end));
      start = end + 1;
    }
    lane.partial = text.slice(start);
    if (lane.partial.length > MAX_LINE_CHARS) {
      this.#refuse(lane, `a line longer than ${MAX_LINE_CHARS} characters`);
    }
  }

  #line(lane: Lane, line: string): void {
    const kind = line.charCodeAt(0);
    if (kind === 112 /* p */ && lane.name !== null) {
      const fields = parse(line.slice(1));
      if (
        !Array.isArray(fields) ||
        typeof fields[0] !== "string" ||
        fields[0] === "" ||
        typeof fields[1] !== "string" ||
        (fields[2] !== 0 && fields[2] !== 1)
      ) {
        this.log.warn(`pub/sub: ignored a malformed publication from ${lane.name}`);
        return;
      }
      const publication = { topic: fields[0], data: fields[1], binary: fields[2] === 1 };
      lane.receivedBytes += costOf(publication);
      lane.ackDue = true;
      this.#scheduleFlush();
      this.deliver(publication);
    } else if (kind === 97 /* a */ && lane.name !== null) {
      const bytes = Number(line.slice(1));
      if (Number.isInteger(bytes) && bytes <= lane.sentBytes) {
        lane.ackedBytes = Math.max(lane.ackedBytes, bytes);
      }
    } else if ((kind === 104 /* h */ || kind === 119) /* w */ && lane.name === null) {
      const who = parse(line.slice(1)) as { index?: unknown; pid?: unknown } | null;
      if (!Number.isInteger(who?.index) || !Number.isInteger(who?.pid)) {
        this.#refuse(lane, "a malformed hello");
        return;
      }
      lane.name = `worker ${who?.index} (pid ${who?.pid})`;
      if (kind === 104) this.#write(lane, `w${this.#me}\n`);
      lane.welcomed?.resolve();
    } else {
      this.#refuse(lane, `an unexpected line (${JSON.stringify(line.slice(0, 20))})`);
    }
  }

  #refuse(lane: Lane, what: string): void {
    this.log.warn(`pub/sub: closed a mesh socket that sent ${what}`);
    lane.socket.end();
    this.#closed(lane);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Writes what waits for this turn now (the worker is about to exit). */
  flush(): void {
    if (this.#flushScheduled) this.#flush();
  }

  /** One write per sibling per turn: this turn's publications, then the ack of what arrived. */
  #flush(): void {
    this.#flushScheduled = false;
    for (const lane of this.#lanes) {
      if (lane.ackDue) {
        lane.ackDue = false;
        lane.out.push(`a${lane.receivedBytes}\n`);
      }
      if (lane.out.length === 0 || lane.blocked) continue; // a blocked lane writes on drain
      const text = lane.out.length === 1 ? (lane.out[0] as string) : lane.out.join("");
      lane.out = [];
      this.#write(lane, text);
    }
  }

  #write(lane: Lane, text: string): void {
    const written = lane.socket.write(text);
    // `written` counts bytes; only a short write (kernel buffer full) needs the bytes kept.
    if (written < text.length || written < Buffer.byteLength(text)) {
      lane.blocked = Buffer.from(text).subarray(Math.max(0, written));
    }
  }

  #drain(lane: Lane | undefined): void {
    if (!lane?.blocked) return;
    const written = lane.socket.write(lane.blocked);
    lane.blocked =
      written < lane.blocked.length ? lane.blocked.subarray(Math.max(0, written)) : null;
    if (!lane.blocked && lane.out.length > 0) this.#scheduleFlush();
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
