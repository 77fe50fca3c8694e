// The dashboard's charts, drawn with uPlot from GET /admin/history: the whole window (15 min)
// when the token is accepted, then each second only what is newer. Served by the fleet from
// /admin/assets/charts.js (the page's CSP allows scripts from its own origin only).

(() => {
  const WINDOW = 900; // samples: 15 minutes at one a second
  const PALETTE = [
    "#3b5bdb",
    "#e8590c",
    "#2b8a3e",
    "#ae3ec9",
    "#c92a2a",
    "#1098ad",
    "#5c940d",
    "#d6336c",
    "#f08c00",
    "#495057",
  ];
  const MARKER = {
    reload: "#3b5bdb",
    restart: "#e67700",
    crash: "#c92a2a",
    scale: "#2b8a3e",
    recycle: "#862e9c",
  };
  const mb = (v) => (v == null ? "–" : `${v.toFixed(1)} MB`);
  const fixed =
    (digits, unit = "") =>
    (v) =>
      v == null ? "–" : `${v.toFixed(digits)}${unit}`;
  /** Axis ticks: short (12k, 2.5, 0.25), so every label fits the axis. */
  const tick =
    (unit = "") =>
    (v) => {
      if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M${unit}`;
      if (v >= 1e4) return `${+(v / 1e3).toFixed(0)}k${unit}`;
      return `${+v.toFixed(2)}${unit}`;
    };

  /** Each chart: its aria-label, y unit, and how to turn samples into named series. */
  const CHARTS = [
    {
      id: "rps",
      label: "requests per second, per worker and for the whole fleet",
      value: fixed(1),
      tick: tick(),
      series: (samples) => {
        const slots = new Set();
        for (const s of samples) for (const w of s.workers) slots.add(w.index);
        const names = [...slots].sort((a, b) => a - b);
        return [
          { name: "fleet", width: 2, values: samples.map((s) => s.rps) },
          ...names.map((i) => ({
            name: `worker ${i}`,
            values: samples.map((s) =>
              sum(
                s.workers.filter((w) => w.index === i),
                "rps",
              ),
            ),
          })),
        ];
      },
    },
    {
      id: "latency",
      label: "latency p50 and p99, milliseconds",
      value: fixed(2, " ms"),
      tick: tick(" ms"),
      series: (samples) => [
        { name: "p50", values: samples.map((s) => s.p50Ms) },
        { name: "p99", values: samples.map((s) => s.p99Ms) },
      ],
    },
    {
      id: "memory",
      label: "memory (RSS) per process, megabytes",
      value: mb,
      tick: tick(" MB"),
      series: (samples) => {
        const workers = new Set();
        const extras = new Set();
        for (const s of samples) {
          for (const w of s.workers) workers.add(w.index);
          for (const e of s.extras) extras.add(`${e.name}#${e.index}`);
        }
        const names = [
          "primary",
          ...[...workers].sort((a, b) => a - b).map((i) => `worker ${i}`),
          ...[...extras].sort(),
        ];
        const of = (s, name) => {
          if (name === "primary") return s.primaryRssBytes / 1048576;
          const procs = [
            ...s.workers.map((w) => [`worker ${w.index}`, w]),
            ...s.extras.map((e) => [`${e.name}#${e.index}`, e]),
          ].filter(([n]) => n === name);
          const total = sum(
            procs.map(([, p]) => p),
            "rssBytes",
          );
          return total == null ? null : total / 1048576;
        };
        return names.map((name) => ({ name, values: samples.map((s) => of(s, name)) }));
      },
    },
    {
      id: "websockets",
      label: "open WebSockets and SSE streams",
      value: fixed(0),
      tick: tick(),
      integer: true,
      series: (samples) => [
        { name: "WebSockets", values: samples.map((s) => s.websockets) },
        { name: "SSE streams", values: samples.map((s) => s.sseStreams ?? null) },
      ],
    },
    {
      id: "pubsub",
      label: "pub/sub messages per second",
      value: fixed(1),
      tick: tick(),
      series: (samples) => [
        { name: "published", values: samples.map((s) => s.pubsubPerS) },
        { name: "relayed to workers", values: samples.map((s) => s.relayedPerS) },
      ],
    },
    {
      id: "app",
      label: "app counters per second (the hooks' stats, e.g. database queries and errors)",
      value: fixed(1),
      tick: tick(),
      series: (samples) => {
        const names = new Set();
        for (const s of samples) for (const name of Object.keys(s.app ?? {})) names.add(name);
        if (names.size === 0) return [{ name: "none reported", values: samples.map(() => null) }];
        return [...names].sort().map((name) => ({
          name: name.replace(/_total$/, ""),
          values: samples.map((s) => s.app?.[name] ?? null),
        }));
      },
    },
  ];

  /** The sum of `key` over `items`, null when none has a number. */
  function sum(items, key) {
    let total = null;
    for (const item of items) if (item[key] != null) total = (total ?? 0) + item[key];
    return total;
  }

  let samples = [];
  let events = [];
  const plots = new Map(); // chart id -> { plot, names }
  let timer = null;
  let call = null;

  /** Dashed vertical lines where something happened, labelled with its kind. */
  const markers = {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          const px = devicePixelRatio || 1;
          ctx.save();
          ctx.font = `${11 * px}px system-ui, sans-serif`;
          ctx.setLineDash([4 * px, 3 * px]);
          ctx.lineWidth = 1.5 * px;
          for (const e of events) {
            const x = u.valToPos(e.t / 1000, "x", true);
            if (x < left || x > left + width) continue;
            ctx.strokeStyle = ctx.fillStyle = MARKER[e.kind] || "#495057";
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillText(e.kind, x + 3 * px, top + 12 * px);
          }
          ctx.restore();
        },
      ],
    },
  };

  function width(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width));
  }

  function draw() {
    const xs = samples.map((s) => s.t / 1000);
    for (const chart of CHARTS) {
      const el = document.getElementById(`chart-${chart.id}`);
      const series = chart.series(samples);
      const names = series.map((s) => s.name).join("\n");
      const data = [xs, ...series.map((s) => s.values)];
      const held = plots.get(chart.id);
      if (held && held.names === names) {
        held.plot.setData(data);
        latest(held.plot);
        continue;
      }
      held?.plot.destroy();
      const opts = {
        width: width(el),
        height: 180,
        plugins: [markers],
        scales: {
          // At least a minute wide: a young fleet's seconds sit at the right, not stretched.
          x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        },
        axes: [
          {},
          {
            values: (_u, ticks) => ticks.map((v) => chart.tick(v)),
            size: 64,
            ...(chart.integer && { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000] }),
          },
        ],
        legend: { live: true },
        // Hovering one chart shows the same second on all of them.
        cursor: { sync: { key: "fleet" } },
        series: [
          {
            label: "time",
            value: (_u, v) => (v == null ? "–" : new Date(v * 1000).toLocaleTimeString()),
          },
          ...series.map((s, i) => ({
            label: s.name,
            stroke: PALETTE[i % PALETTE.length],
            width: s.width ?? 1.5,
            spanGaps: false,
            points: { show: false },
            value: (_u, v) => chart.value(v),
          })),
        ],
      };
      const plot = new uPlot(opts, data, el);
      plots.set(chart.id, { plot, names });
      latest(plot);
    }
    const list = document.getElementById("events");
    list.replaceChildren(
      ...events
        .slice(-8)
        .reverse()
        .map((e) => {
          const li = document.createElement("li");
          li.textContent = `${new Date(e.t).toLocaleTimeString()} ${e.kind}: ${e.text}`;
          li.style.color = MARKER[e.kind] || "";
          return li;
        }),
    );
    if (!events.length) {
      const li = document.createElement("li");
      li.textContent = "none yet (reloads, restarts, crashes, recycles and scaling are marked)";
      list.append(li);
    }
  }

  /** Without a cursor on the chart, its legend shows the latest second. */
  function latest(plot) {
    if (plot.cursor.left >= 0 || plot.data[0].length === 0) return;
    plot.setLegend({ idx: plot.data[0].length - 1 });
  }

  async function update() {
    const since = samples.length ? samples[samples.length - 1].t : 0;
    try {
      const h = await call("GET", `/admin/history?since=${since}`);
      if (!h.samples.length && samples.length) return;
      samples = samples.concat(h.samples).slice(-WINDOW);
      const oldest = samples.length ? samples[0].t : 0;
      const known = new Set(events.map((e) => `${e.t} ${e.text}`));
      events = events
        .concat(h.events.filter((e) => !known.has(`${e.t} ${e.text}`)))
        .filter((e) => e.t >= oldest);
      draw();
    } catch {
      // the status poll reports what is wrong; the charts keep what they have
    }
  }

  /**
   * Draws the history with `request` (the page's token-carrying fetch), then what is newer each
   * second; a second call while running changes nothing.
   */
  function start(request) {
    if (timer !== null) return;
    call = request;
    timer = setInterval(update, 1000);
    update();
  }

  function stop() {
    clearInterval(timer);
    timer = null;
  }

  /** Forgets what was drawn (the token was forgotten). */
  function clear() {
    stop();
    for (const { plot } of plots.values()) plot.destroy();
    plots.clear();
    samples = [];
    events = [];
  }

  addEventListener("resize", () => {
    for (const chart of CHARTS) {
      const held = plots.get(chart.id);
      const el = document.getElementById(`chart-${chart.id}`);
      if (held) held.plot.setSize({ width: width(el), height: 180 });
    }
  });

  window.FleetCharts = {
    start,
    clear,
    plots,
    get samples() {
      return samples;
    },
  };
})();
