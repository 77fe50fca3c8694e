import { DURATION_BUCKETS } from "../../snapshot.ts";
import type { FleetView, Sample } from "./sample.ts";

/**
 * `GET /metrics`: the processes' snapshots as prom-client metric JSON (the shape
 * `registry.getMetricsAsJSON()` has), merged by `AggregatorRegistry.aggregate` and written by
 * prom-client in the Prometheus text format. Only its aggregator module is loaded, on the first
 * scrape, in the primary only: the whole package (default metrics, gauges, summaries…) cost
 * 16.8 MB of RSS and 34-46 ms to import here, `lib/cluster.js` alone 2.7 MB and 3 ms.
 */

type Labels = Record<string, string>;
type Value = { value: number; labels: Labels; metricName?: string };
type MetricJson = {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  aggregator: "sum";
  values: Value[];
};

type Aggregator = typeof import("prom-client").AggregatorRegistry;

/** prom-client's AggregatorRegistry (lib/cluster.js: `module.exports = AggregatorRegistry`). */
let aggregator: Promise<Aggregator> | null = null;

async function loadAggregator(): Promise<Aggregator> {
  // A literal specifier, so `bun run build` bundles it; the types are the package's own.
  // @ts-expect-error the package ships no types for this path
  const mod = (await import("prom-client/lib/cluster.js")) as { default: Aggregator };
  return mod.default;
}

const metric = (
  name: string,
  type: MetricJson["type"],
  help: string,
  values: Value[],
): MetricJson => ({ name, help, type, aggregator: "sum", values });

/** One series per HTTP worker that answered, labelled `worker`: a number from its snapshot. */
const perWorker = (
  name: string,
  type: MetricJson["type"],
  help: string,
  samples: Sample[],
  read: (snapshot: NonNullable<Sample["snapshot"]>) => number,
): MetricJson =>
  metric(
    name,
    type,
    help,
    samples.flatMap(({ worker, snapshot }) =>
      !worker.init.extra && snapshot
        ? [{ value: read(snapshot), labels: { worker: String(worker.index) } }]
        : [],
    ),
  );

/** A worker's request series: counts per method and status, the duration histogram, in flight. */
function requestMetrics({ worker, snapshot }: Sample): MetricJson[] {
  if (!snapshot?.metered || worker.init.extra) return [];
  const w = String(worker.index);
  const counts = snapshot.counts.map(([method, status, n]) => ({
    value: n,
    labels: { method, status: String(status), worker: w },
  }));
  const histogram: Value[] = [];
  let cumulative = 0;
  snapshot.buckets.forEach((n, i) => {
    cumulative += n;
    const le = i < DURATION_BUCKETS.length ? String(DURATION_BUCKETS[i]) : "+Inf";
    const name = "http_request_duration_seconds_bucket";
    histogram.push({ value: cumulative, labels: { le, worker: w }, metricName: name });
  });
  histogram.push(
    {
      value: snapshot.durationSum,
      labels: { worker: w },
      metricName: "http_request_duration_seconds_sum",
    },
    { value: cumulative, labels: { worker: w }, metricName: "http_request_duration_seconds_count" },
  );
  return [
    metric(
      "http_requests_total",
      "counter",
      "App requests answered, by method and status.",
      counts,
    ),
    metric("http_request_duration_seconds", "histogram", "App request duration.", histogram),
    metric("http_requests_in_flight", "gauge", "App requests begun, not yet answered.", [
      { value: snapshot.inFlight, labels: { worker: w } },
    ]),
  ];
}

/** A worker's app stats (the hooks module's `stats`): `app_<name>` series, strings in app_info. */
function appMetrics({ worker, snapshot }: Sample): MetricJson[] {
  const app = snapshot?.app;
  if (!app || worker.init.extra) return [];
  const labels: Labels = { worker: String(worker.index) };
  const out: MetricJson[] = [];
  const info: Labels = { ...labels };
  for (const [name, value] of Object.entries(app)) {
    if (typeof value === "string") info[name] = value;
    else {
      const type = name.endsWith("_total") ? "counter" : "gauge";
      out.push(
        metric(`app_${name}`, type, `The app's ${name} (hooks stats).`, [{ value, labels }]),
      );
    }
  }
  if (Object.keys(info).length > 1) {
    out.push(
      metric("app_info", "gauge", "The app's own labels (hooks stats).", [
        { value: 1, labels: info },
      ]),
    );
  }
  return out;
}

/** Per process (primary, workers, extras): RSS, uptime, heartbeat age. */
function processMetrics(view: FleetView, samples: Sample[]): MetricJson[] {
  const now = Date.now();
  const primary = { process: "primary", pid: String(view.pid) };
  const rss: Value[] = [{ value: process.memoryUsage.rss(), labels: primary }];
  const uptime: Value[] = [{ value: (now - view.startedAt) / 1000, labels: primary }];
  const heartbeat: Value[] = [];
  for (const { worker, snapshot } of samples) {
    const { extra, index } = worker.init;
    const labels = {
      process: extra ? `extra ${extra.name}#${index}` : `worker ${index}`,
      pid: String(worker.pid),
    };
    if (snapshot) rss.push({ value: snapshot.rss, labels });
    uptime.push({ value: (now - worker.startedAt) / 1000, labels });
    heartbeat.push({ value: (performance.now() - worker.lastSeen) / 1000, labels });
  }
  return [
    metric("fleet_process_resident_memory_bytes", "gauge", "Resident memory (answered only).", rss),
    metric("fleet_process_uptime_seconds", "gauge", "Seconds since the process started.", uptime),
    metric(
      "fleet_process_heartbeat_age_seconds",
      "gauge",
      "Seconds since the last heartbeat.",
      heartbeat,
    ),
  ];
}

/** Per slot: 1 when its process is ready and answered in time, else 0. */
function upMetrics(view: FleetView, samples: Sample[]): MetricJson[] {
  const answered = new Set(samples.filter((s) => s.snapshot).map((s) => s.worker));
  const up = (current: Sample["worker"] | null) =>
    current?.lifecycle.is("ready") && answered.has(current) ? 1 : 0;
  const workers = (view.pool?.http ?? []).map((slot) => ({
    value: up(slot.current),
    labels: { worker: String(slot.index) },
  }));
  const extras = (view.pool?.extras ?? []).map((slot) => ({
    value: up(slot.current),
    labels: { extra: `${slot.extra?.name}#${slot.index}` },
  }));
  return [
    metric("fleet_worker_up", "gauge", "1 when the HTTP worker slot serves and answers.", workers),
    metric("fleet_extra_up", "gauge", "1 when the extra process runs and answers.", extras),
  ];
}

/** Fleet-wide counters and sizes kept by the primary. */
function fleetMetrics(view: FleetView, samples: Sample[]): MetricJson[] {
  const totals = view.pool?.totals ?? {
    restarts: 0,
    crashes: 0,
    replacements: { reload: 0, recycle: 0 },
  };
  const history = view.history;
  const one = (value: number) => [{ value, labels: {} }];
  const ready = samples.filter((s) => !s.worker.init.extra && s.worker.lifecycle.is("ready"));
  const reloads = history?.reloads ?? { complete: 0, aborted: 0 };
  return [
    metric(
      "fleet_restarts_total",
      "counter",
      "Processes restarted after the one before exited unasked (crash, hang, own exit).",
      one(totals.restarts),
    ),
    metric(
      "fleet_replacements_total",
      "counter",
      "Processes started to replace live ones on purpose, by reason (reload, recycle).",
      [
        { value: totals.replacements.reload, labels: { reason: "reload" } },
        { value: totals.replacements.recycle, labels: { reason: "recycle" } },
      ],
    ),
    metric("fleet_crashes_total", "counter", "Unexpected process exits.", one(totals.crashes)),
    metric("fleet_reloads_total", "counter", "Rolling reloads, by outcome.", [
      { value: reloads.complete, labels: { outcome: "complete" } },
      { value: reloads.aborted, labels: { outcome: "aborted" } },
    ]),
    metric("fleet_recycles_total", "counter", "Workers recycled.", one(history?.recycles ?? 0)),
    metric(
      "fleet_scale_changes_total",
      "counter",
      "Changes of the worker count.",
      one(history?.scaleChanges ?? 0),
    ),
    metric("fleet_workers", "gauge", "HTTP workers configured, and ready now.", [
      { value: view.pool?.http.length ?? view.startWorkers, labels: { kind: "configured" } },
      { value: ready.length, labels: { kind: "ready" } },
    ]),
    ...pubsubMetrics(view.pubsub),
    perWorker(
      "fleet_websockets_open",
      "gauge",
      "WebSockets open on each HTTP worker.",
      samples,
      (s) => s.websockets,
    ),
    perWorker(
      "fleet_sse_streams_open",
      "gauge",
      "worker.sse streams open on each HTTP worker.",
      samples,
      (s) => s.sseStreams,
    ),
    perWorker(
      "fleet_sse_streams_cut_total",
      "counter",
      "worker.sse streams cut because their client fell more than SSE_MAX_BUFFERED_BYTES behind.",
      samples,
      (s) => s.sseCut,
    ),
  ];
}

/** The primary's pub/sub counters: what was published, relayed, and lost on the way. */
function pubsubMetrics({ hub, redis }: FleetView["pubsub"]): MetricJson[] {
  const messages = [
    { value: hub.published, labels: { source: "worker" } },
    { value: hub.remote, labels: { source: "redis" } },
  ];
  const dropped = [
    { value: hub.dropped, labels: { reason: "slow_worker" } },
    { value: redis?.lost ?? 0, labels: { reason: "redis_unavailable" } },
  ];
  return [
    metric(
      "fleet_pubsub_messages_total",
      "counter",
      "worker.publish calls in this fleet, and publications from other fleets, by source.",
      messages,
    ),
    metric(
      "fleet_pubsub_relayed_total",
      "counter",
      "Publications handed to a worker (by a sibling, or by the primary from Redis).",
      [{ value: hub.relayed, labels: {} }],
    ),
    metric(
      "fleet_pubsub_dropped_total",
      "counter",
      "Publications lost: for a worker too far behind, or while Redis was unreachable.",
      dropped,
    ),
    metric(
      "fleet_pubsub_redis_sent_total",
      "counter",
      "Publications sent to other fleets through Redis (0 without PUBSUB_URL).",
      [{ value: redis?.sent ?? 0, labels: {} }],
    ),
  ];
}

/** The whole fleet in the Prometheus text format. */
export async function renderMetrics(view: FleetView, samples: Sample[]): Promise<string> {
  aggregator ??= loadAggregator();
  const AggregatorRegistry = await aggregator;
  const perProcess = samples.map((s) => [...requestMetrics(s), ...appMetrics(s)]);
  const fleet = [
    ...fleetMetrics(view, samples),
    ...upMetrics(view, samples),
    ...processMetrics(view, samples),
  ];
  return AggregatorRegistry.aggregate([fleet, ...perProcess]).metrics();
}
