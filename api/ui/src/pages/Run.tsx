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
} from "../api";
import { Card, Chart, ErrorBox, Loading, Status, useNow } from "../components";
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
  return true;
}

function matches(line: LogEntry, level: LogLevel, text: string): boolean {
  return (
    SEVERITY[line.level] >= SEVERITY[level] &&
    (!text || line.message.toLowerCase().includes(text.toLowerCase()) || line.origin.toLowerCase().includes(text.toLowerCase()))
  );
}

export function Run({ id }: { id: string }) {
  const now = useNow(1000);
  const [, navigate] = useLocation();
  const [run, setRun] = useState<RunRecord | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [columns, setColumns] = useState<Columns>(empty);
  const [sampleTotal, setSampleTotal] = useState(0);
  const [level, setLevel] = useState<LogLevel>("info");
  const [search, setSearch] = useState("");
  const [tail, setTail] = useState(true);
  const [lines, setLines] = useState<LogEntry[]>([]);
  const [moreLines, setMoreLines] = useState(false);
  const [live, setLive] = useState(false);
  const filter = useRef({ level, search, more: moreLines });
  filter.current = { level, search, more: moreLines };
  const logBox = useRef<HTMLDivElement>(null);
  /** The newest log line seen (shown or filtered out), where a reconnection resumes. */
  const lastLineId = useRef<number | undefined>(undefined);

  // The run, its downsampled history and the live stream. The stream opens first (from what is
  // stored now), events are held until the history is in, and samples the history already has
  // are skipped: nothing is missed or drawn twice.
  useEffect(() => {
    const controller = new AbortController();
    const held: Parameters<Parameters<typeof follow>[1]>[0][] = [];
    let ready = false;
    let cols = empty();
    const apply = (event: (typeof held)[number]) => {
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
        lastLineId.current = Math.max(lastLineId.current ?? 0, line.id);
        // While older lines are still to be loaded, new ones wait for "load more".
        if (!filter.current.more && matches(line, filter.current.level, filter.current.search)) {
          setLines((ls) => (ls.some((l) => l.id === line.id) ? ls : [...ls, line]));
        }
      }
    };
    setRun(null);
    setError(null);
    setColumns(empty());
    setLive(false);
    get<RunRecord>(`/runs/${encodeURIComponent(id)}`, controller.signal)
      .then((record) => {
        setRun(record);
        if (record.status === "running") {
          setLive(true);
          // After a dropped connection: the samples and lines stored meanwhile.
          const resume = async () => {
            const last = cols.x[cols.x.length - 1];
            const from = last === undefined ? undefined : new Date(last * 1000).toISOString();
            const gap = await get<MetricSeries>(
              `/runs/${encodeURIComponent(id)}/metrics${query({ from, limit: 10000 })}`,
              controller.signal,
            );
            gap.items.forEach((s) => apply({ type: "sample", ...s }));
            const lastLine = lastLineId.current;
            const lines = await get<{ items: LogEntry[] }>(
              `/runs/${encodeURIComponent(id)}/logs${query({ after_id: lastLine, limit: 10000 })}`,
              controller.signal,
            );
            lines.items.forEach((l) => apply({ type: "log", ...l }));
          };
          follow(
            id,
            (event) => (ready ? apply(event) : held.push(event)),
            controller.signal,
            resume,
          )
            .catch((e: Error) => !controller.signal.aborted && setError(e))
            .finally(() => !controller.signal.aborted && setLive(false));
        }
        return get<MetricSeries>(`/runs/${encodeURIComponent(id)}/metrics${query({ points: HISTORY_POINTS })}`, controller.signal);
      })
      .then((series) => {
        for (const s of series.items) push(cols, s);
        cols = { ...cols };
        setColumns(cols);
        setSampleTotal(series.total);
        ready = true;
        held.splice(0).forEach(apply);
      })
      .catch((e: Error) => !controller.signal.aborted && setError(e));
    return () => controller.abort();
  }, [id]);

  // The log, filtered by level and text on the service; live lines are filtered here.
  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      get<{ items: LogEntry[] }>(
        `/runs/${encodeURIComponent(id)}/logs${query({ level, q: search, limit: LOG_PAGE })}`,
        controller.signal,
      )
        .then((page) => {
          // Live lines that came in while this page was read are kept.
          const last = page.items[page.items.length - 1]?.id ?? 0;
          lastLineId.current = Math.max(lastLineId.current ?? 0, last);
          const full = page.items.length === LOG_PAGE;
          setLines((ls) => (full ? page.items : [...page.items, ...ls.filter((l) => l.id > last && matches(l, level, search))]));
          setMoreLines(full);
        })
        .catch((e: Error) => !controller.signal.aborted && setError(e));
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [id, level, search]);

  useEffect(() => {
    const box = logBox.current;
    if (tail && box) box.scrollTop = box.scrollHeight;
  }, [lines, tail]);

  const loadMore = () => {
    const after = lines[lines.length - 1]?.id;
    get<{ items: LogEntry[] }>(
      `/runs/${encodeURIComponent(id)}/logs${query({ level, q: search, limit: LOG_PAGE, after_id: after })}`,
    ).then((page) => {
      setLines((ls) => [...ls, ...page.items.filter((l) => !ls.some((o) => o.id === l.id))]);
      setMoreLines(page.items.length === LOG_PAGE);
    }, setError);
  };

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
      {moreLines && (
        <button type="button" onClick={loadMore}>
          Load more lines
        </button>
      )}
    </section>
  );
}
