import type { ReloadRecord } from "../operations.ts";
import type { FleetView, Sample } from "./sample.ts";

/** One process in `GET /admin/status`. */
export interface ProcessStatus {
  index: number;
  /** An extra's name; absent for HTTP workers. */
  name?: string;
  pid: number;
  /** booting, ready, draining (exited processes are not listed). */
  state: string;
  startedAt: string;
  uptimeS: number;
  /** False when it did not answer within the deadline: its numbers below are null. */
  answered: boolean;
  /** App requests served by this process (null with METRICS=0 or no answer). */
  requests: number | null;
  inFlight: number | null;
  /**
   * Its slot's restarts (new processes after one exited unasked: crash, hang, its own exit),
   * crashes, and replacements (new processes that took over on purpose: reload, recycle).
   */
  restarts: number;
  crashes: number;
  replacements: number;
  rssBytes: number | null;
  /** WebSockets open on it (null with no answer; 0 for extras). */
  websockets: number | null;
  /** `worker.sse` streams open on it (null with no answer; 0 for extras). */
  sseStreams: number | null;
  /** Milliseconds since its last heartbeat (or ready, or spawn). */
  heartbeatAgeMs: number;
  /** The app's own numbers (the hooks module's `stats`), or null without them. */
  app: { [name: string]: number | string } | null;
}

/** `GET /admin/status`. */
export interface FleetStatus {
  fleet: {
    pid: number;
    state: string;
    startedAt: string;
    uptimeS: number;
    rssBytes: number;
    workers: { configured: number; current: number; atStart: number };
    extras: number;
    /** Processes restarted after an unasked exit, fleet-wide (slots removed by scaling too). */
    restarts: number;
    crashes: number;
    /** Processes started to replace live ones on purpose, by why. */
    replacements: { reload: number; recycle: number };
    reloads: { complete: number; aborted: number };
    recycles: number;
    scaleChanges: number;
    lastReload:
      | (Omit<ReloadRecord, "startedAt" | "finishedAt"> & {
          startedAt: string;
          finishedAt: string | null;
        })
      | null;
    /** Pub/sub counters (see fleet_pubsub_* in /metrics); `redis` is null without PUBSUB_URL. */
    pubsub: FleetView["pubsub"];
  };
  workers: ProcessStatus[];
  extras: ProcessStatus[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => Math.round(ms / 100) / 10;

function processStatus({ worker, slot, snapshot }: Sample, now: number): ProcessStatus {
  const metered = snapshot?.metered ?? false;
  return {
    index: worker.index,
    ...(worker.init.extra ? { name: worker.init.extra.name } : {}),
    pid: worker.pid,
    state: worker.lifecycle.state,
    startedAt: iso(worker.startedAt),
    uptimeS: seconds(now - worker.startedAt),
    answered: snapshot !== null,
    requests: metered ? (snapshot?.requests ?? null) : null,
    inFlight: metered ? (snapshot?.inFlight ?? null) : null,
    restarts: slot?.restarts ?? 0,
    crashes: slot?.crashes.total ?? 0,
    replacements: slot?.replacements ?? 0,
    rssBytes: snapshot?.rss ?? null,
    websockets: snapshot?.websockets ?? null,
    sseStreams: snapshot?.sseStreams ?? null,
    heartbeatAgeMs: Math.round(performance.now() - worker.lastSeen),
    app: snapshot?.app ?? null,
  };
}

/** Builds the status document from the primary's view and the processes' snapshots. */
export function buildStatus(view: FleetView, samples: Sample[]): FleetStatus {
  const now = Date.now();
  const byPlace = (a: Sample, b: Sample) =>
    a.worker.index - b.worker.index || a.worker.startedAt - b.worker.startedAt;
  const http = samples.filter((s) => !s.worker.init.extra).sort(byPlace);
  const extras = samples.filter((s) => s.worker.init.extra).sort(byPlace);
  const history = view.history;
  const last = history?.lastReload ?? null;
  return {
    fleet: {
      pid: view.pid,
      state: view.state,
      startedAt: iso(view.startedAt),
      uptimeS: seconds(now - view.startedAt),
      rssBytes: process.memoryUsage.rss(),
      workers: {
        configured: view.pool?.http.length ?? view.startWorkers,
        current: http.filter((s) => s.worker.lifecycle.is("ready")).length,
        atStart: view.startWorkers,
      },
      extras: view.pool?.extras.length ?? 0,
      restarts: view.pool?.totals.restarts ?? 0,
      crashes: view.pool?.totals.crashes ?? 0,
      replacements: { ...(view.pool?.totals.replacements ?? { reload: 0, recycle: 0 }) },
      reloads: { ...(history?.reloads ?? { complete: 0, aborted: 0 }) },
      recycles: history?.recycles ?? 0,
      scaleChanges: history?.scaleChanges ?? 0,
      lastReload: last && {
        why: last.why,
        outcome: last.outcome,
        startedAt: iso(last.startedAt),
        finishedAt: last.finishedAt === null ? null : iso(last.finishedAt),
      },
      pubsub: view.pubsub,
    },
    workers: http.map((s) => processStatus(s, now)),
    extras: extras.map((s) => processStatus(s, now)),
  };
}
