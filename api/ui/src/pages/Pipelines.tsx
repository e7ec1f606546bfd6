// Every pipeline with its last run and a sparkline of recent durations; filters by status and
// name live in the URL, so a filtered view can be shared. Refreshes while runs are moving.

import { useEffect, useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { get, query, type PipelineSummaryPage, type RunStatus } from "../api";
import { ErrorBox, Loading, Sparkline, Status, useFilters, useLoad, useNow } from "../components";
import { ago, count, duration, elapsed } from "../format";

const PAGE = 100;
const FILTERS: (RunStatus | "never")[] = ["running", "completed", "failed", "exited", "never"];

export function Pipelines() {
  const [params, set] = useFilters();
  const name = params.get("name") ?? "";
  const status = params.get("status") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const now = useNow(1000);
  // Every 2 s while a run moves, every 10 s otherwise.
  const [moving, setMoving] = useState(true);
  const page = useLoad(
    (signal) =>
      get<PipelineSummaryPage>(
        `/pipeline-summaries${query({ name, status, limit: PAGE, offset, recent: 20 })}`,
        signal,
      ),
    [name, status, offset],
    moving ? 2000 : 10000,
  );
  useEffect(() => setMoving((page.data?.counts.running ?? 1) > 0), [page.data]);
  const data = page.data;
  return (
    <section aria-labelledby="pipelines-title">
      <h1 id="pipelines-title">Pipelines</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Name{" "}
          <input
            type="search"
            name="name"
            value={name}
            placeholder="e.g. mysql-s3"
            onInput={(e) => set("name", (e.target as HTMLInputElement).value)}
          />
        </label>
        <fieldset class="chips">
          <legend>Last run</legend>
          <button type="button" aria-pressed={status === ""} onClick={() => set("status", "")}>
            all{data ? ` (${count(Object.values(data.counts).reduce((a, b) => a + b, 0))})` : ""}
          </button>
          {FILTERS.map((s) => (
            <button type="button" aria-pressed={status === s} onClick={() => set("status", status === s ? "" : s)}>
              <Status status={s} />
              {data ? ` (${count(data.counts[s])})` : ""}
            </button>
          ))}
        </fieldset>
      </form>
      {page.error && <ErrorBox error={page.error} title="Could not load the pipelines" />}
      {!data && !page.error && <Loading what="pipelines" />}
      {data && data.items.length === 0 && (
        <p class="empty">
          {name || status
            ? "No pipeline matches these filters."
            : "No pipelines yet. Run one with `fastlane run --config pipeline.json --api " + location.origin + "`."}
        </p>
      )}
      {data && data.items.length > 0 && (
        <div class="table-wrap">
          <table class="pipelines" data-ready="true" aria-describedby="pipelines-title">
            <thead>
              <tr>
                <th scope="col">Pipeline</th>
                <th scope="col">Source → transform → target</th>
                <th scope="col">Last run</th>
                <th scope="col">Started</th>
                <th scope="col" class="num">Duration</th>
                <th scope="col" class="num">Rows loaded</th>
                <th scope="col">Recent durations</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((p) => {
                const last = p.last_run;
                return (
                  <tr key={p.id} data-pipeline={p.id}>
                    <th scope="row">
                      <Link href={`/pipelines/${encodeURIComponent(p.id)}`}>{p.id}</Link>
                    </th>
                    <td class="flow">
                      {p.source_type} → {last?.transform_name ?? "no transform"} → {p.target_type}{" "}
                      <span class="muted">{p.target_id}</span>
                    </td>
                    <td>
                      {last ? (
                        <Link href={`/runs/${encodeURIComponent(last.id)}`} aria-label={`last run of ${p.id}: ${last.status}`}>
                          <Status status={last.status} />
                        </Link>
                      ) : (
                        <Status status="never" />
                      )}
                    </td>
                    <td title={last?.started_at}>{last ? ago(last.started_at, now) : "–"}</td>
                    <td class="num">{last ? duration(elapsed(last.started_at, last.finished_at, now)) : "–"}</td>
                    <td class="num">{last ? count(last.rows_loaded) : "–"}</td>
                    <td>
                      <Sparkline runs={p.recent} label={`durations of ${p.id}`} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data && data.total > PAGE && (
        <nav class="pager" aria-label="pages of pipelines">
          <button type="button" disabled={offset === 0} onClick={() => set("offset", String(Math.max(0, offset - PAGE)))}>
            ← previous
          </button>
          <span>
            {count(offset + 1)}–{count(Math.min(offset + PAGE, data.total))} of {count(data.total)}
          </span>
          <button
            type="button"
            disabled={offset + PAGE >= data.total}
            onClick={() => set("offset", String(offset + PAGE))}
          >
            next →
          </button>
        </nav>
      )}
    </section>
  );
}
