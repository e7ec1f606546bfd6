// One pipeline: its runs (paged, filterable by status), charts of duration and rows per run,
// its config as stored (secrets redacted by the service), and two runs picked for comparison.

import { useEffect, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { get, query, type Pipeline as PipelineRecord, type RunPage, type RunStatus } from "../api";
import { Chart, ErrorBox, Loading, Status, useFilters, useLoad, useNow } from "../components";
import { count, duration, elapsed, short, time } from "../format";

const PAGE = 50;
const STATUSES: RunStatus[] = ["running", "completed", "failed", "exited"];

export function Pipeline({ id }: { id: string }) {
  const [params, set] = useFilters();
  const [, navigate] = useLocation();
  const status = params.get("status") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const now = useNow(1000);
  const [moving, setMoving] = useState(true);
  const pipeline = useLoad((signal) => get<PipelineRecord>(`/pipelines/${encodeURIComponent(id)}`, signal), [id]);
  const runs = useLoad(
    (signal) =>
      get<RunPage>(`/pipelines/${encodeURIComponent(id)}/runs${query({ status, limit: PAGE, offset })}`, signal),
    [id, status, offset],
    moving ? 2000 : 10000,
  );
  // The charts: up to the last 1000 runs, oldest first.
  const history = useLoad(
    (signal) => get<RunPage>(`/pipelines/${encodeURIComponent(id)}/runs${query({ limit: 1000 })}`, signal),
    [id],
    moving ? 5000 : 30000,
  );
  useEffect(() => setMoving(runs.data?.items.some((r) => r.status === "running") ?? true), [runs.data]);
  const [picked, setPicked] = useState<string[]>([]);
  const toggle = (runId: string) =>
    setPicked((p) => (p.includes(runId) ? p.filter((r) => r !== runId) : [...p.slice(-1), runId]));

  if (pipeline.error) return <ErrorBox error={pipeline.error} title={`Pipeline ${id}`} />;
  const p = pipeline.data;
  const past = [...(history.data?.items ?? [])].reverse();
  const x = past.map((r) => Date.parse(r.started_at) / 1000);
  return (
    <section aria-labelledby="pipeline-title">
      <nav class="crumbs" aria-label="breadcrumbs">
        <Link href="/">Pipelines</Link> / <span aria-current="page">{id}</span>
      </nav>
      <h1 id="pipeline-title">{id}</h1>
      {p && (
        <p class="flow">
          {p.source_type} → {runs.data?.items[0]?.transform_name ?? "no transform"} → {p.target_type}{" "}
          <span class="muted">{p.target_id}</span> · registered {time(p.created_at)} ·{" "}
          <a href={`/api/v1/pipelines/${encodeURIComponent(id)}`}>API</a>
        </p>
      )}
      {past.length > 0 && (
        <div class="charts two">
          <Chart
            label="Duration per run"
            x={x}
            series={[{ label: "duration", values: past.map((r) => (r.finished_at ? elapsed(r.started_at, r.finished_at) / 1000 : null)), color: "--c1" }]}
            unit="s"
            format={(v) => duration(v * 1000)}
            height={180}
          />
          <Chart
            label="Rows per run"
            x={x}
            series={[
              { label: "extracted", values: past.map((r) => r.rows_extracted), color: "--c2" },
              { label: "loaded", values: past.map((r) => r.rows_loaded), color: "--c3" },
            ]}
            format={short}
            height={180}
          />
        </div>
      )}
      <h2 id="runs-title">Runs</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <fieldset class="chips">
          <legend>Status</legend>
          <button type="button" aria-pressed={status === ""} onClick={() => set("status", "")}>
            all
          </button>
          {STATUSES.map((s) => (
            <button type="button" aria-pressed={status === s} onClick={() => set("status", status === s ? "" : s)}>
              <Status status={s} />
            </button>
          ))}
        </fieldset>
        <button
          type="button"
          class="primary"
          disabled={picked.length !== 2}
          onClick={() => navigate(`/compare${query({ a: picked[0], b: picked[1] })}`)}
        >
          Compare {picked.length}/2 selected runs
        </button>
      </form>
      {runs.error && <ErrorBox error={runs.error} title="Could not load the runs" />}
      {!runs.data && !runs.error && <Loading what="runs" />}
      {runs.data && runs.data.items.length === 0 && <p class="empty">No runs{status ? ` with status ${status}` : ""}.</p>}
      {runs.data && runs.data.items.length > 0 && (
        <div class="table-wrap">
          <table data-ready="true" aria-labelledby="runs-title">
            <thead>
              <tr>
                <th scope="col">
                  <span class="sr-only">Compare</span>
                </th>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col" class="num">Duration</th>
                <th scope="col" class="num">Extracted</th>
                <th scope="col" class="num">Transformed</th>
                <th scope="col" class="num">Loaded</th>
                <th scope="col" class="num">Dropped</th>
                <th scope="col">End offset</th>
                <th scope="col">Transform</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((r) => (
                <tr key={r.id} data-run={r.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select run ${r.id} to compare`}
                      checked={picked.includes(r.id)}
                      onChange={() => toggle(r.id)}
                    />
                  </td>
                  <th scope="row">
                    <Link href={`/runs/${encodeURIComponent(r.id)}`}>{r.id}</Link>
                  </th>
                  <td>
                    <Status status={r.status} />
                  </td>
                  <td>{time(r.started_at)}</td>
                  <td class="num">{duration(elapsed(r.started_at, r.finished_at, now))}</td>
                  <td class="num">{count(r.rows_extracted)}</td>
                  <td class="num">{count(r.rows_transformed)}</td>
                  <td class="num">{count(r.rows_loaded)}</td>
                  <td class="num">{count(r.rows_dropped)}</td>
                  <td class="mono">{r.end_offset ?? "–"}</td>
                  <td>
                    {r.transform_name ? (
                      <span title={r.transform_hash}>
                        {r.transform_name}
                        {r.transform_version ? ` ${r.transform_version}` : ""}{" "}
                        <span class="mono muted">{r.transform_hash?.slice(0, 12)}</span>
                      </span>
                    ) : (
                      "–"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {runs.data && runs.data.total > PAGE && (
        <nav class="pager" aria-label="pages of runs">
          <button type="button" disabled={offset === 0} onClick={() => set("offset", String(Math.max(0, offset - PAGE)))}>
            ← newer
          </button>
          <span>
            {count(offset + 1)}–{count(Math.min(offset + PAGE, runs.data.total))} of {count(runs.data.total)}
          </span>
          <button type="button" disabled={offset + PAGE >= runs.data.total} onClick={() => set("offset", String(offset + PAGE))}>
            older →
          </button>
        </nav>
      )}
      {p && (
        <details class="config">
          <summary>Config as stored (secrets redacted)</summary>
          <pre>{JSON.stringify(p.config, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}
