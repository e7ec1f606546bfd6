// Two runs of a pipeline side by side: durations, counts, throughput per stage, and their
// load rate over elapsed time on one chart.

import type { ComponentChild } from "preact";
import { Link, useSearchParams } from "wouter-preact";
import { get, query, type MetricSeries, type RunComparison, type RunStats as Stats } from "../api";
import { Chart, ErrorBox, Loading, Status, useLoad } from "../components";
import { bytes, count, duration, rate, short, time } from "../format";

export function Compare() {
  const [params] = useSearchParams();
  const a = params.get("a") ?? "";
  const b = params.get("b") ?? "";
  const comparison = useLoad(
    (signal) => get<RunComparison>(`/run-comparison${query({ a, b })}`, signal),
    [a, b],
  );
  const series = useLoad(
    (signal) =>
      Promise.all(
        [a, b].map((id) => get<MetricSeries>(`/runs/${encodeURIComponent(id)}/metrics${query({ points: 300 })}`, signal)),
      ),
    [a, b],
  );
  if (!a || !b) return <ErrorBox error="Pick two runs to compare (on a pipeline's page), or pass ?a=RUN&b=RUN." />;
  if (comparison.error) return <ErrorBox error={comparison.error} title="Could not compare these runs" />;
  const data = comparison.data;
  if (!data) return <Loading what="the comparison" />;
  const [left, right] = data.runs;

  // Both runs on one time axis: seconds since each one started.
  let chart = null;
  if (series.data) {
    const offsets = series.data.map((s) => (s.items.length ? Date.parse(s.items[0].at) : 0));
    const starts = [left, right].map((r, i) => (r ? Date.parse(r.run.started_at) : offsets[i]));
    const keyed = new Map<number, [number | null, number | null]>();
    series.data.forEach((s, i) => {
      for (const sample of s.items) {
        const t = Math.round((Date.parse(sample.at) - starts[i]) / 100) / 10;
        const row = keyed.get(t) ?? [null, null];
        row[i] = sample.load_rows_per_s;
        keyed.set(t, row);
      }
    });
    const x = [...keyed.keys()].sort((p, q) => p - q);
    chart = (
      <Chart
        label="Load rate over elapsed time"
        x={x}
        xIsTime={false}
        series={[
          { label: `A ${a}`, values: x.map((t) => keyed.get(t)![0]), color: "--c1", spanGaps: true },
          { label: `B ${b}`, values: x.map((t) => keyed.get(t)![1]), color: "--c3", dash: true, spanGaps: true },
        ]}
        unit="rows/s"
        format={short}
      />
    );
  }

  const rows: [string, (s: Stats) => ComponentChild][] = [
    ["Pipeline", (s) => <Link href={`/pipelines/${encodeURIComponent(s.run.pipeline_id)}`}>{s.run.pipeline_id}</Link>],
    ["Status", (s) => <Status status={s.run.status} />],
    ["Started", (s) => time(s.run.started_at)],
    ["Duration", (s) => duration(s.duration_ms)],
    ["Rows extracted", (s) => count(s.run.rows_extracted)],
    ["Rows transformed", (s) => count(s.run.rows_transformed)],
    ["Rows loaded", (s) => count(s.run.rows_loaded)],
    ["Rows dropped", (s) => count(s.run.rows_dropped)],
    ...(["extract", "transform", "load"] as const).flatMap((stage) => [
      [
        `${stage}: rows/s over the run`,
        (s: Stats) => rate(s.stages.find((x) => x.stage === stage)?.rows_per_s),
      ] as [string, (s: Stats) => ComponentChild],
      [
        `${stage}: peak rows/s`,
        (s: Stats) => rate(s.stages.find((x) => x.stage === stage)?.peak_rows_per_s),
      ] as [string, (s: Stats) => ComponentChild],
    ]),
    ["Peak memory", (s) => bytes(s.peak_rss_bytes)],
    ["Wasm time per batch (mean)", (s) => (s.mean_wasm_ms_per_batch === undefined ? "–" : `${s.mean_wasm_ms_per_batch.toFixed(2)} ms`)],
    ["Peak queue to transform", (s) => count(s.peak_queue_to_transform)],
    ["Peak queue to target", (s) => count(s.peak_queue_to_target)],
    ["Transform", (s) => `${s.run.transform_name ?? "none"} ${s.run.transform_version ?? ""} ${s.run.transform_hash?.slice(0, 12) ?? ""}`],
    ["End offset", (s) => s.run.end_offset ?? "–"],
    ["Error", (s) => s.run.error ?? "–"],
  ];
  return (
    <section aria-labelledby="compare-title">
      <nav class="crumbs" aria-label="breadcrumbs">
        <Link href="/">Pipelines</Link> / <span aria-current="page">compare</span>
      </nav>
      <h1 id="compare-title">Compare two runs</h1>
      <div class="table-wrap">
        <table class="compare" data-ready="true">
          <thead>
            <tr>
              <th scope="col">
                <span class="sr-only">Measure</span>
              </th>
              <th scope="col">
                A <Link href={`/runs/${encodeURIComponent(left.run.id)}`}>{left.run.id}</Link>
              </th>
              <th scope="col">
                B <Link href={`/runs/${encodeURIComponent(right.run.id)}`}>{right.run.id}</Link>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([label, cell]) => (
              <tr>
                <th scope="row">{label}</th>
                <td>{cell(left)}</td>
                <td>{cell(right)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {series.error && <ErrorBox error={series.error} title="Could not load the metric series" />}
      {chart}
    </section>
  );
}
