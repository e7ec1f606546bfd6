// Pieces every page uses: status badges, sparklines, time-series charts, loading and errors.

import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import uPlot from "uplot";
import { useSearchParams } from "wouter-preact";
import type { RunStatus, RunBrief } from "./api";
import { duration, time } from "./format";

const STATUS_ICON: Record<RunStatus | "never", string> = {
  running: "▶",
  completed: "✓",
  failed: "✕",
  exited: "■",
  never: "○",
};

/** A run's status: icon and word (never colour alone). */
export function Status({ status }: { status: RunStatus | "never" }) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      <span aria-hidden="true">{STATUS_ICON[status]}</span> {status === "never" ? "no runs" : status}
    </span>
  );
}

/**
 * A page's filters, kept in its URL (so a filtered view can be shared): the current ones, and a
 * setter that replaces one (an empty value removes it) and goes back to the first page.
 */
export function useFilters(): [URLSearchParams, (key: string, value: string) => void] {
  const [params, setParams] = useSearchParams();
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== "offset") next.delete("offset");
    setParams(next, { replace: true });
  };
  return [params, set];
}

/** A number that changes each time `event` is dispatched on the window. */
function useEventVersion(event: string): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    window.addEventListener(event, bump);
    return () => window.removeEventListener(event, bump);
  }, [event]);
  return version;
}

/** A number that changes when the tab's token does (pages reload their data then). */
export const useTokenVersion = () => useEventVersion("fastlane-token");

/** A number that changes when the theme does (charts take their colours again). */
const useThemeVersion = () => useEventVersion("fastlane-theme");

/** Re-render every `ms` (clocks and "3 s ago"). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** The result of an async load, reloaded when `deps` change and every `refreshMs` if given. */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  refreshMs?: number | null,
): { data?: T; error?: Error; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const inFlight = useRef(false);
  useEffect(() => {
    const controller = new AbortController();
    inFlight.current = true;
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal)
      .then(
        (data) => !controller.signal.aborted && setState({ data, loading: false }),
        (error: Error) =>
          !controller.signal.aborted && setState((s) => ({ data: s.data, error, loading: false })),
      )
      .finally(() => {
        if (!controller.signal.aborted) inFlight.current = false;
      });
    return () => controller.abort();
  }, [...deps, tick]);
  useEffect(() => {
    if (!refreshMs) return;
    // A refresh waits for the previous answer (a slow service is not asked again and again).
    const timer = setInterval(() => !inFlight.current && setTick((t) => t + 1), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs]);
  useEffect(() => {
    const again = () => setTick((t) => t + 1);
    window.addEventListener("fastlane-token", again);
    return () => window.removeEventListener("fastlane-token", again);
  }, []);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function ErrorBox({ error, title }: { error: Error | string; title?: string }) {
  return (
    <div class="error-box" role="alert">
      {title && <strong>{title}</strong>}
      <pre>{typeof error === "string" ? error : error.message}</pre>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Durations of recent runs as a small line, with the last point marked by status. */
export function Sparkline({ runs, label }: { runs: RunBrief[]; label: string }) {
  const points = runs.filter((r) => r.duration_ms !== undefined && r.duration_ms !== null);
  const width = 120;
  const height = 28;
  if (points.length === 0) {
    return (
      <span class="muted" aria-label={`${label}: no finished runs`}>
        –
      </span>
    );
  }
  const max = Math.max(...points.map((r) => r.duration_ms!), 1);
  const step = points.length > 1 ? (width - 6) / (points.length - 1) : 0;
  const xy = points.map((r, i) => [3 + i * step, height - 3 - ((height - 6) * r.duration_ms!) / max]);
  const path = xy.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
  const last = xy[xy.length - 1];
  const lastRun = points[points.length - 1];
  const description = `${label}: ${points.length} recent runs, last ${duration(lastRun.duration_ms)}, longest ${duration(max)}`;
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={description}>
      <title>{description}</title>
      <path d={path} fill="none" stroke="currentColor" stroke-width="1.5" />
      <circle cx={last[0]} cy={last[1]} r="2.5" class={`dot-${lastRun.status}`} />
    </svg>
  );
}

export interface Series {
  label: string;
  values: (number | null)[];
  /** CSS colour variable name, e.g. `--c1`. */
  color: string;
  /** Dashed (a second run in a comparison). */
  dash?: boolean;
  /** Draw across missing values (series sampled at other times than the x axis). */
  spanGaps?: boolean;
}

/** The largest of `values` (a loop: spreading 100,000 values overflows the call stack). */
function peak(values: number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

/**
 * A time-series chart (uPlot on a canvas). Screen readers get `label` and a one-line summary of
 * each series; `data-points` says how many points are drawn (the UI tests read it).
 */
export function Chart({
  label,
  x,
  series,
  unit,
  height = 200,
  xIsTime = true,
  format,
}: {
  label: string;
  x: number[];
  series: Series[];
  unit?: string;
  height?: number;
  xIsTime?: boolean;
  format?: (v: number) => string;
}) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  /** The user zoomed in (drag): new data keeps that range until a double click resets it. */
  const zoomed = useRef(false);
  const theme = useThemeVersion();
  const shape = series.map((s) => `${s.label}|${s.color}|${s.dash ? 1 : 0}`).join(",") + `|${xIsTime}|${unit}|${theme}`;
  // What changes when data is added (series are appended to, or rebuilt per render).
  const last = (v: (number | null)[]) => `${v.length}/${v[v.length - 1]}`;
  const version = `${last(x)}:${series.map((s) => last(s.values)).join(",")}`;

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const style = getComputedStyle(document.documentElement);
    const axisColor = style.getPropertyValue("--muted").trim() || "#888";
    const gridColor = style.getPropertyValue("--grid").trim() || "#8883";
    const axis: uPlot.Axis = {
      stroke: axisColor,
      grid: { stroke: gridColor, width: 1 },
      ticks: { stroke: gridColor, width: 1 },
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: {
        x: {
          time: xIsTime,
          // One point (a pipeline's first run): a minute either side, not uPlot's years.
          range: (_u, min, max) => (min === max ? [min - 60, max + 60] : [min, max]),
        },
      },
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
      axes: [
        { ...axis },
        {
          ...axis,
          size: 84,
          values: (_u, ticks) => ticks.map((v) => (format ? format(v) : String(v))),
        },
      ],
      series: [
        { label: xIsTime ? "time" : "run" },
        ...series.map((s) => ({
          label: unit ? `${s.label} (${unit})` : s.label,
          stroke: style.getPropertyValue(s.color).trim() || "#36c",
          width: 1.5,
          dash: s.dash ? [6, 4] : undefined,
          spanGaps: s.spanGaps ?? false,
          // Few points (runs of a pipeline) are drawn as dots too; dense series as lines only.
          points: { show: (u: uPlot) => u.data[0].length <= 60, size: 6 },
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : format ? format(v) : String(v)),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width > 0) zoomed.current = true;
          },
        ],
      },
    };
    zoomed.current = false;
    plot.current = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const unzoom = () => (zoomed.current = false);
    plot.current.over.addEventListener("dblclick", unzoom);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the shape changes; new data goes through setData below.
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData, !zoomed.current);
  }, [version]);

  const summary = series
    .map((s) => {
      const values = s.values.filter((v): v is number => v !== null);
      if (values.length === 0) return `${s.label}: no data`;
      const show = (v: number) => (format ? format(v) : String(v));
      return `${s.label}: last ${show(values[values.length - 1])}, peak ${show(peak(values))}`;
    })
    .join("; ");
  const span =
    x.length > 1 && xIsTime ? ` from ${time(new Date(x[0] * 1000).toISOString())} to ${time(new Date(x[x.length - 1] * 1000).toISOString())}` : "";
  return (
    <figure class="chart" role="group" aria-label={label}>
      <figcaption>{label}</figcaption>
      <div ref={holder} class="chart-canvas" role="img" aria-label={`${label}: ${x.length} points${span}. ${summary}`} data-points={x.length} />
    </figure>
  );
}

export function Card({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <div class="card" title={hint}>
      <div class="card-label">{label}</div>
      <div class="card-value">{children}</div>
    </div>
  );
}
