// The monitoring API as the UI reads it: typed objects (the OpenAPI document at /openapi.json is
// the reference), requests that carry the token when one was given, and a run's live stream.

export type RunStatus = "running" | "completed" | "failed" | "exited";
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface Run {
  id: string;
  pipeline_id: string;
  status: RunStatus;
  started_at: string;
  finished_at?: string;
  replication_mode?: string;
  start_offset?: string;
  end_offset?: string;
  rows_extracted: number;
  rows_transformed: number;
  rows_loaded: number;
  rows_dropped: number;
  error?: string;
  transform_name?: string;
  transform_version?: string;
  transform_hash?: string;
}

export interface Pipeline {
  id: string;
  source_type: string;
  target_type: string;
  target_id: string;
  config: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface RunBrief {
  id: string;
  status: RunStatus;
  started_at: string;
  duration_ms?: number;
  rows_loaded: number;
}

export interface PipelineSummary {
  id: string;
  source_type: string;
  target_type: string;
  target_id: string;
  updated_at: string;
  last_run?: Run;
  recent: RunBrief[];
}

export interface StatusCounts {
  running: number;
  completed: number;
  failed: number;
  exited: number;
  never: number;
}

export interface PipelineSummaryPage {
  items: PipelineSummary[];
  total: number;
  counts: StatusCounts;
}

export interface RunPage {
  items: Run[];
  total: number;
}

export interface MetricSample {
  at: string;
  rows_extracted: number;
  rows_transformed: number;
  rows_loaded: number;
  extract_rows_per_s: number;
  transform_rows_per_s: number;
  load_rows_per_s: number;
  extract_bytes_per_s: number;
  rss_bytes: number;
  queue_to_transform: number;
  queue_to_target: number;
  wasm_ms_per_batch: number;
}

export interface MetricSeries {
  items: MetricSample[];
  /** Samples stored for the range asked (more than `items` when downsampled). */
  total: number;
}

export interface LogEntry {
  id: number;
  seq?: number;
  at: string;
  level: LogLevel;
  origin: string;
  message: string;
}

export interface StageStats {
  stage: "extract" | "transform" | "load";
  rows: number;
  rows_per_s?: number;
  mean_rows_per_s?: number;
  peak_rows_per_s?: number;
}

export interface RunStats {
  run: Run;
  duration_ms?: number;
  stages: StageStats[];
  samples: number;
  peak_rss_bytes?: number;
  mean_wasm_ms_per_batch?: number;
  peak_queue_to_transform?: number;
  peak_queue_to_target?: number;
}

export interface RunComparison {
  runs: RunStats[];
}

export interface Health {
  status: string;
  database: string;
  auth: "none" | "writes" | "all";
}

export type RunEvent =
  | ({ type: "run" } & Run)
  | ({ type: "sample" } & MetricSample)
  | ({ type: "log" } & LogEntry);

const TOKEN_KEY = "fastlane.token";

/** The bearer token this tab was given (kept for the session only). */
export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event("fastlane-token"));
}

/** An answer other than 2xx: its status and the API's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The service asked for a token (401): the shell shows the token form. */
export const NEEDS_TOKEN = "fastlane-needs-token";

function headers(): HeadersInit {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

async function failure(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    // Not JSON: the status line says enough.
  }
  if (response.status === 401) window.dispatchEvent(new Event(NEEDS_TOKEN));
  return new ApiError(response.status, message);
}

/** GET `path` (relative to /api/v1) as JSON. */
export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(`/api/v1${path}`, { headers: headers(), signal });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** The service's health: its database and what its token protects (never needs the token). */
export async function getHealth(): Promise<Health> {
  const response = await fetch("/healthz");
  if (!response.ok) throw await failure(response);
  return (await response.json()) as Health;
}

/** DELETE `path` (relative to /api/v1). */
export async function remove(path: string): Promise<void> {
  const response = await fetch(`/api/v1${path}`, { method: "DELETE", headers: headers() });
  if (!response.ok) throw await failure(response);
}

/** `?key=value&…` of the given parameters, leaving out empty ones. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * Follow a run's live stream (server-sent events read through `fetch`, so the token travels in
 * a header, not in the URL), from what is stored when it opens. Each time the stream is open —
 * the first time and after every reconnection — `resume(first)` runs before its events are
 * delivered: it reads what is already stored (the history, or what was stored while
 * disconnected), so nothing falls between the two. Ends when the run's final record came or
 * `signal` aborts; a stream closed for any other reason is opened again.
 */
export async function follow(
  runId: string,
  onEvent: (event: RunEvent) => void,
  signal: AbortSignal,
  resume: (first: boolean) => Promise<void>,
): Promise<void> {
  let finished = false;
  let first = true;
  while (!signal.aborted && !finished) {
    let response: Response | null = null;
    try {
      response = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}/metrics/stream?history=false`, {
        headers: { ...headers(), Accept: "text/event-stream" },
        signal,
      });
      if (!response.ok || !response.body) throw await failure(response);
      await resume(first);
      first = false;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (!finished) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).trimStart())
            .join("\n");
          if (!data) continue;
          const event = JSON.parse(data) as RunEvent;
          if (event.type === "run" && event.status !== "running") finished = true;
          onEvent(event);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      // Give the connection back if resuming failed after it opened.
      response?.body?.cancel().catch(() => undefined);
      if (e instanceof ApiError && e.status !== 503) throw e;
    }
    if (!finished && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
