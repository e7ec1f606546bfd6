// One run, live: status, elapsed time and progress; per-stage rows/s, queue depths, memory and
// Wasm time as charts fed by the run's event stream; the error for a failed run; the log with a
// level filter, text search and live tail.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import {
  follow,
  get,
  remove,
  query,
  type LogEntry,
  type LogLevel,
  type MetricSample,
  type MetricSeries,
  type Run as RunRecord,
  type RunEvent,
} from "../api";
import { Card, Chart, ErrorBox, Loading, Status, useNow, useTokenVersion } from "../components";
import { bytes, count, duration, elapsed, rate, short, time } from "../format";

/** Points the service downsamples a run's history to. */
const HISTORY_POINTS = 600;
/** Log lines per request. */
const LOG_PAGE = 1000;
const LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error"];
const SEVERITY: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

interface Columns {
  /** The newest sample's cumulative counts (the run record has them only at its end). */
  counts: { extracted: number; transformed: number; loaded: number };
  x: number[];
  extract: number[];
  transform: number[];
  load: number[];
  toTransform: number[];
  toTarget: number[];
  rss: number[];
  wasm: number[];
}

function empty(): Columns {
  return {
    counts: { extracted: 0, transformed: 0, loaded: 0 },
    x: [],
    extract: [],
    transform: [],
    load: [],
    toTransform: [],
    toTarget: [],
    rss: [],
    wasm: [],
  };
}

/** Append `s` unless the series already reaches its time; whether it was appended. */
/** Points a live chart keeps: past this, the older half is thinned to every other point. */
const MAX_POINTS = 20_000;
/** Log lines the page keeps (the oldest go first; the API has them all). */
const MAX_LINES = 5_000;

/** Append `s` unless the series already reaches its time; whether it was appended. */
function push(c: Columns, s: MetricSample): boolean {
  const at = Date.parse(s.at) / 1000;
  if (c.x.length && at <= c.x[c.x.length - 1]) return false;
  c.counts = { extracted: s.rows_extracted, transformed: s.rows_transformed, loaded: s.rows_loaded };
  c.x.push(at);
  c.extract.push(s.extract_rows_per_s);
  c.transform.push(s.transform_rows_per_s);
  c.load.push(s.load_rows_per_s);
  c.toTransform.push(s.queue_to_transform);
  c.toTarget.push(s.queue_to_target);
  c.rss.push(s.rss_bytes);
  c.wasm.push(s.wasm_ms_per_batch);
  if (c.x.length > MAX_POINTS) thin(c);
  return true;
}

/** Keep every other point of the older half of each series (a page left open for days). */
function thin(c: Columns) {
  const half = Math.floor(c.x.length / 2);
  for (const key of ["x", "extract", "transform", "load", "toTransform", "toTarget", "rss", "wasm"] as const) {
    const values = c[key];
    c[key] = values.slice(0, half).filter((_, i) => i % 2 === 0).concat(values.slice(half));
  }
}

function matches(line: LogEntry, level: LogLevel, text: string): boolean {
  const needle = text.toLowerCase();
  return (
    SEVERITY[line.level] >= SEVERITY[level] &&
    (!needle || line.message.toLowerCase().includes(needle) || line.origin.toLowerCase().includes(needle))
  );
}

/** `lines` with `more` appended (those not there yet), the newest `MAX_LINES` kept. */
function addLines(lines: LogEntry[], more: LogEntry[]): LogEntry[] {
  const seen = new Set(lines.map((l) => l.id));
  const added = more.filter((l) => !seen.has(l.id));
  if (added.length === 0) return lines;
  const all = lines.concat(added).sort((a, b) => a.id - b.id);
  return all.length > MAX_LINES ? all.slice(all.length - MAX_LINES) : all;
}

export function Run({ id }: { id: string }) {
  const now = useNow(1000);
  const token = useTokenVersion();
  const [, navigate] = useLocation();
  const [run, setRun] = useState<RunRecord | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [columns, setColumns] = useState<Columns>(empty);
  const [sampleTotal, setSampleTotal] = useState(0);
  const [level, setLevel] = useState<LogLevel>("info");
  const [search, setSearch] = useState("");
  const [tail, setTail] = useState(true);
  const [lines, setLines] = useState<LogEntry[]>([]);
  const [cut, setCut] = useState(false);
  const [live, setLive] = useState(false);
  const filter = useRef({ level, search });
  filter.current = { level, search };
  const logBox = useRef<HTMLDivElement>(null);
  /** The newest log line seen (shown or filtered out), where a reconnection resumes. */
  const lastLineId = useRef(0);

  // The run, its downsampled history, then (while it runs) the live stream. The stream opens
  // first, from what is stored when it opens; the history is read after that and before the
  // stream's events are applied, and samples the series already has are skipped: nothing is
  // missed or drawn twice. After a dropped stream the same happens for the gap.
  useEffect(() => {
    const controller = new AbortController();
    let cols = empty();
    const apply = (event: RunEvent) => {
      if (event.type === "run") {
        const { type: _type, ...record } = event;
        setRun(record);
      } else if (event.type === "sample") {
        if (!push(cols, event)) return;
        setSampleTotal((n) => n + 1);
        cols = { ...cols };
        setColumns(cols);
      } else if (event.type === "log") {
        const { type: _type, ...line } = event;
        lastLineId.current = Math.max(lastLineId.current, line.id);
        if (matches(line, filter.current.level, filter.current.search)) {
          setLines((ls) => addLines(ls, [line]));
        }
      }
    };
    const history = async () => {
      const series = await get<MetricSeries>(
        `/runs/${encodeURIComponent(id)}/metrics${query({ points: HISTORY_POINTS })}`,
        controller.signal,
      );
      cols = empty();
      for (const s of series.items) push(cols, s);
      cols = { ...cols };
      setColumns(cols);
      setSampleTotal(series.total);
    };
    const gap = async () => {
      const last = cols.x[cols.x.length - 1];
      const from = last === undefined ? undefined : new Date(last * 1000).toISOString();
      const samples = await get<MetricSeries>(
        `/runs/${encodeURIComponent(id)}/metrics${query({ from, limit: 10000 })}`,
        controller.signal,
      );
      samples.items.forEach((s) => apply({ type: "sample", ...s }));
      const missed = await get<{ items: LogEntry[] }>(
        `/runs/${encodeURIComponent(id)}/logs${query({ after_id: lastLineId.current || undefined, limit: 10000 })}`,
        controller.signal,
      );
      missed.items.forEach((l) => apply({ type: "log", ...l }));
    };
    setRun(null);
    setError(null);
    setColumns(empty());
    setSampleTotal(0);
    // Log ids are global: another run's newest line says nothing about this one's.
    lastLineId.current = 0;
    setLive(false);
    get<RunRecord>(`/runs/${encodeURIComponent(id)}`, controller.signal)
      .then(async (record) => {
        setRun(record);
        if (record.status !== "running") return history();
        setLive(true);
        try {
          await follow(id, apply, controller.signal, (first) => (first ? history() : gap()));
        } finally {
          if (!controller.signal.aborted) setLive(false);
        }
      })
      .catch((e: Error) => !controller.signal.aborted && setError(e));
    return () => controller.abort();
  }, [id, token]);

  // The log: the last lines that match, filtered by level and text on the service; live lines
  // are filtered here and appended.
  useEffect(() => {
    const controller = new AbortController();
    setLines([]);
    setCut(false);
    const timer = setTimeout(() => {
      get<{ items: LogEntry[] }>(
        `/runs/${encodeURIComponent(id)}/logs${query({ level, q: search, limit: LOG_PAGE, tail: "true" })}`,
        controller.signal,
      )
        .then((page) => {
          const last = page.items[page.items.length - 1]?.id ?? 0;
          lastLineId.current = Math.max(lastLineId.current, last);
          // Live lines that came in while this page was read are kept.
          setLines((ls) => addLines(page.items, ls.filter((l) => matches(l, level, search))));
          setCut(page.items.length === LOG_PAGE);
        })
        .catch((e: Error) => !controller.signal.aborted && setError(e));
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [id, level, search, token]);

  useEffect(() => {
    const box = logBox.current;
    if (tail && box) box.scrollTop = box.scrollHeight;
  }, [lines, tail]);

  const ms = run ? elapsed(run.started_at, run.finished_at, now) : 0;
  const extracted = Math.max(run?.rows_extracted ?? 0, columns.counts.extracted);
  const transformed = Math.max(run?.rows_transformed ?? 0, columns.counts.transformed);
  const loaded = Math.max(run?.rows_loaded ?? 0, columns.counts.loaded);
  const progress = extracted > 0 ? Math.min(1, loaded / extracted) : 0;
  const charts = useMemo(
    () => [
      {
        label: "Rows per second by stage",
        series: [
          { label: "extract", values: columns.extract, color: "--c1" },
          { label: "transform", values: columns.transform, color: "--c2" },
          { label: "load", values: columns.load, color: "--c3" },
        ],
        format: short,
        unit: "rows/s",
      },
      {
        label: "Queue depths (batches waiting)",
        series: [
          { label: "to transform", values: columns.toTransform, color: "--c4" },
          { label: "to target", values: columns.toTarget, color: "--c5" },
        ],
        format: (v: number) => String(Math.round(v)),
        unit: "batches",
      },
      {
        label: "Memory (resident)",
        series: [{ label: "RSS", values: columns.rss, color: "--c6" }],
        format: bytes,
      },
      {
        label: "Time in the Wasm transform per batch",
        series: [{ label: "wasm", values: columns.wasm, color: "--c2" }],
        format: (v: number) => `${v.toFixed(1)} ms`,
        unit: "ms",
      },
    ],
    [columns],
  );

  // A write: needs the token when the service has one (a refused request opens the token form).
  const deleteRun = () => {
    if (!run || !confirm(`Delete run ${run.id} with its metrics and log?`)) return;
    remove(`/runs/${encodeURIComponent(run.id)}`).then(
      () => navigate(`/pipelines/${encodeURIComponent(run.pipeline_id)}`),
      (e: Error) => setError(e),
    );
  };

  if (error && !run) return <ErrorBox error={error} title={`Run ${id}`} />;
  if (!run) return <Loading what={`run ${id}`} />;
  return (
    <section aria-labelledby="run-title">
      <nav class="crumbs" aria-label="breadcrumbs">
        <Link href="/">Pipelines</Link> / <Link href={`/pipelines/${encodeURIComponent(run.pipeline_id)}`}>{run.pipeline_id}</Link> /{" "}
        <span aria-current="page">run</span>
      </nav>
      <h1 id="run-title">
        Run <span class="mono">{run.id}</span> <Status status={run.status} />
      </h1>
      <p class="meta">
        started {time(run.started_at)}
        {run.finished_at ? `, ended ${time(run.finished_at)}` : ""} · {run.replication_mode ?? "mode not reported"} ·{" "}
        {run.transform_name ? (
          <span title={run.transform_hash}>
            transform {run.transform_name}
            {run.transform_version ? ` ${run.transform_version}` : ""} <span class="mono muted">{run.transform_hash?.slice(0, 12)}</span>
          </span>
        ) : (
          "no transform"
        )}{" "}
        · <a href={`/api/v1/runs/${encodeURIComponent(run.id)}`}>this run in the API</a> ·{" "}
        <a href={`/api/v1/runs/${encodeURIComponent(run.id)}/metrics`}>metrics</a> ·{" "}
        <a href={`/api/v1/runs/${encodeURIComponent(run.id)}/logs`}>logs</a> ·{" "}
        <button type="button" class="link danger" onClick={deleteRun} disabled={run.status === "running"}>
          delete run
        </button>
        {live && (
          <span class="live" role="status">
            {" "}
            · <span aria-hidden="true">●</span> live
          </span>
        )}
      </p>
      {run.status === "failed" && (
        <ErrorBox title="The run failed" error={run.error ?? "no error was reported"} />
      )}
      {error && <ErrorBox error={error} title={live ? "Lost the live stream" : "Something went wrong"} />}
      <div class="cards">
        <Card label="Elapsed">
          <span data-testid="elapsed">{duration(ms)}</span>
        </Card>
        <Card label="Extracted">{count(extracted)}</Card>
        <Card label="Transformed">{count(transformed)}</Card>
        <Card label="Loaded">{count(loaded)}</Card>
        <Card label="Dropped">{count(run.rows_dropped)}</Card>
        <Card label="Throughput" hint="rows loaded per second over the run">
          {rate(ms > 0 ? (loaded * 1000) / ms : null)}
        </Card>
        <Card label="Offsets">
          <span class="mono">
            {run.start_offset ?? "start"} → {run.end_offset ?? "–"}
          </span>
        </Card>
      </div>
      <div class="progress-row">
        <label for="progress">Loaded of extracted</label>
        <progress id="progress" max={1} value={progress} aria-valuetext={`${Math.round(progress * 100)}%`} />
        <span>{Math.round(progress * 100)}%</span>
      </div>
      <h2>Metrics</h2>
      <p class="muted" data-testid="samples">
        {count(sampleTotal)} samples{sampleTotal > columns.x.length ? `, drawn as ${count(columns.x.length)} points` : ""}
      </p>
      {columns.x.length === 0 ? (
        <p class="empty">No metric samples yet{run.status === "running" ? " — they appear as the run reports them" : ""}.</p>
      ) : (
        <div class="charts two">
          {charts.map((c) => (
            <Chart key={c.label} label={c.label} x={columns.x} series={c.series} format={c.format} unit={c.unit} />
          ))}
        </div>
      )}
      <h2 id="log-title">Log</h2>
      <form class="filters" role="search" aria-labelledby="log-title" onSubmit={(e) => e.preventDefault()}>
        <label>
          Level at least{" "}
          <select name="level" value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value as LogLevel)}>
            {LEVELS.map((l) => (
              <option value={l}>{l}</option>
            ))}
          </select>
        </label>
        <label>
          Search{" "}
          <input
            type="search"
            name="q"
            value={search}
            placeholder="text in the message"
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          <input type="checkbox" name="tail" checked={tail} onChange={(e) => setTail((e.target as HTMLInputElement).checked)} /> Follow
          the end
        </label>
      </form>
      <div class="log" ref={logBox} tabIndex={0} role="log" aria-labelledby="log-title" aria-live={live && tail ? "polite" : "off"}>
        {lines.length === 0 ? (
          <p class="muted">No lines{search || level !== "trace" ? " match" : ""}.</p>
        ) : (
          lines.map((l) => (
            <div class={`line level-${l.level}`} key={l.id} data-level={l.level}>
              <time dateTime={l.at}>{time(l.at)}</time> <span class="lvl">{l.level.toUpperCase()}</span>{" "}
              <span class="origin">{l.origin}</span> <span class="msg">{l.message}</span>
            </div>
          ))
        )}
      </div>
      {(cut || lines.length >= MAX_LINES) && (
        <p class="muted">
          Showing the last {count(lines.length)} lines; the whole log is in the{" "}
          <a href={`/api/v1/runs/${encodeURIComponent(run.id)}/logs?limit=10000`}>API</a>.
        </p>
      )}
    </section>
  );
}
