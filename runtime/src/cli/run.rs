//! `fastlane run`: validate, prepare, run the pipeline, report.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use fastlane_connectors::{registry, secrets, Destination, ReplicationMode, Source};
use serde_json::json;

use super::{prepare, RunArgs, EXIT_CONFIG, EXIT_FAILED, EXIT_INTERRUPTED};
use crate::config::{self, ResolvedConfig};
use crate::logging::{LogSinks, RunIdentity};
use crate::monitor::reporter::{
    clip, final_update, offset_text, pipeline_id, ApiSettings, Delivery, PipelineSpec, RunDetails,
    RunReporter, RunStart, RunUpdate, MIN_INTERVAL,
};
use crate::monitor::{memory_usage, progress::human, rate, Progress, RunMetrics};
use crate::pipeline::{Pipeline, RunOutcome, RunStatus, Shutdown};
use fastlane_api::model::{MAX_NAME_CHARS, MAX_TARGET_ID_CHARS};

/// How long a run stopped at once still tries to deliver its final reports.
const STOPPED_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) async fn run(args: RunArgs) -> u8 {
    let resolved = match config::load(args.pipeline.config.as_deref(), &args.overrides()) {
        Ok(c) => c,
        Err(e) => {
            say!("error: {e}");
            return EXIT_CONFIG;
        }
    };
    if let Err(e) =
        crate::logging::init(&args.log_level, resolved.pipeline.logs.log_file.as_deref())
    {
        say!("error: {e:#}");
        return EXIT_CONFIG;
    }
    let started_at = chrono::Utc::now();
    let target_id = target_id(&resolved);
    let reporter = start_reporting(&args, &resolved, &target_id, started_at);
    // A reported run is known by its API id everywhere: logs, staging names, summary.
    let run_id = match &reporter {
        Some(reporter) => reporter.run_id().to_string(),
        None => {
            started_at.format("%Y%m%dT%H%M%S%.3fZ").to_string()
                + &format!("-{}", std::process::id())
        }
    };
    let sinks = LogSinks::start(
        &resolved.pipeline.logs,
        &RunIdentity {
            pipeline_id: pipeline_id(&resolved.source_type, &resolved.target_type, &target_id),
            run_id: run_id.clone(),
            started_at,
        },
    );
    if let Some(reporter) = &reporter {
        tracing::info!(run = %run_id, pipeline = %reporter.pipeline_id(), api = %reporter.url(), "reporting to the monitoring API");
    }
    let metrics = RunMetrics::new();
    let shutdown = Shutdown::default();
    let started = start(
        &resolved,
        &args,
        &run_id,
        metrics.clone(),
        reporter.as_ref(),
        &shutdown,
    )
    .await;
    // Stopped at once: the reports not delivered yet get a moment, not the whole drain timeout.
    let drain_timeout = if shutdown.abort.is_cancelled() {
        args.api_drain_timeout.min(STOPPED_DRAIN_TIMEOUT)
    } else {
        args.api_drain_timeout
    };
    let (outcome, transform_label) = match started {
        Ok(done) => done,
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(run = %run_id, "run failed before any data moved: {message}");
            say!("error: {message}");
            let code = if e.downcast_ref::<config::ConfigError>().is_some() {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            };
            let outcome = RunOutcome {
                status: RunStatus::Failed,
                error: Some(message),
                end_offset: None,
                metrics,
            };
            let api = finish_reporting(reporter, sinks, &outcome, drain_timeout).await;
            write_summary(&args, &resolved, &run_id, &outcome, None, api.as_ref());
            return code;
        }
    };
    print_summary(&resolved, &outcome, transform_label.as_deref());
    let code = match outcome.status {
        RunStatus::Completed => 0,
        RunStatus::Exited => {
            say!("run stopped on request");
            EXIT_INTERRUPTED
        }
        RunStatus::Failed => {
            say!(
                "error: run failed: {}",
                outcome.error.as_deref().unwrap_or("unknown cause")
            );
            EXIT_FAILED
        }
    };
    let api = finish_reporting(reporter, sinks, &outcome, drain_timeout).await;
    write_summary(
        &args,
        &resolved,
        &run_id,
        &outcome,
        transform_label.as_deref(),
        api.as_ref(),
    );
    code
}

/// The target's id as the pipeline id holds it, from the config alone, without connecting: the
/// pipeline is named even when the target is down.
fn target_id(resolved: &ResolvedConfig) -> String {
    let id = registry::target_entry(&resolved.target_type)
        .and_then(|entry| {
            // The connector's own keys only: a `secret` reference is not part of its config.
            (entry.target_id)(&secrets::without_reference(&resolved.target)).ok()
        })
        .unwrap_or_else(|| fallback_target_id(resolved));
    clip(id, MAX_TARGET_ID_CHARS)
}

/// A target id when the config alone cannot give one (its connection keys come from a secret,
/// read only when the run connects): the type, the secret and the table, so pipelines that
/// differ there are not merged into one.
fn fallback_target_id(resolved: &ResolvedConfig) -> String {
    let mut id = resolved.target_type.clone();
    if let Some(secret) = secrets::reference(&resolved.target) {
        id = format!("{id}@{}", secret.name);
    }
    if let Some(table) = resolved.target.get("table").and_then(|t| t.as_str()) {
        id = format!("{id}/{table}");
    }
    id
}

/// The reporter of this run when `--api` is given. One that cannot start is a warning: the run
/// itself never depends on the API.
fn start_reporting(
    args: &RunArgs,
    resolved: &ResolvedConfig,
    target_id: &str,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Option<RunReporter> {
    let url = args.api.as_deref().filter(|url| !url.trim().is_empty())?;
    let settings = ApiSettings {
        url: url.to_string(),
        token: args.api_token.clone().filter(|t| !t.is_empty()),
        interval: args.api_interval,
        drain_timeout: args.api_drain_timeout,
    };
    let pipeline = PipelineSpec {
        source_type: resolved.source_type.clone(),
        target_type: resolved.target_type.clone(),
        target_id: target_id.to_string(),
        config: match resolved.shareable() {
            serde_json::Value::Object(map) => map.into_iter().collect(),
            _ => Default::default(),
        },
    };
    let run = RunStart {
        started_at,
        replication_mode: resolved.pipeline.replication_mode,
    };
    match RunReporter::start(settings, pipeline, run) {
        Ok(reporter) => Some(reporter),
        Err(e) => {
            say!("warning: the run is not reported to the API: {e:#}");
            None
        }
    }
}

/// What the summary says about the reporting.
struct ApiReport {
    run_id: String,
    delivery: Delivery,
}

/// Send the run's final status to the API and its end to the log sinks, and wait (at most the
/// drain timeout, or until Ctrl-C; the API and the sinks at the same time) for what is not
/// delivered yet; warn about what never was. The exit code does not depend on any of it.
async fn finish_reporting(
    reporter: Option<RunReporter>,
    sinks: LogSinks,
    outcome: &RunOutcome,
    drain_timeout: Duration,
) -> Option<ApiReport> {
    let sinks_done = async {
        let mut signals = StopSignals::install();
        sinks
            .finish(
                outcome.status == RunStatus::Failed,
                outcome.error.as_deref(),
                drain_timeout,
                signals.next(),
            )
            .await
    };
    let (api, warnings) = tokio::join!(finish_api(reporter, outcome), sinks_done);
    for warning in warnings {
        say!("warning: {warning}");
    }
    api
}

/// Send the run's final status and wait (at most the drain timeout, or until Ctrl-C) for the
/// reports not delivered yet; warn when some never reached the API.
async fn finish_api(reporter: Option<RunReporter>, outcome: &RunOutcome) -> Option<ApiReport> {
    let reporter = reporter?;
    let (run_id, url) = (reporter.run_id().to_string(), reporter.url().to_string());
    // The pipeline's signal watcher is gone: listen again, so that Ctrl-C cuts the wait short.
    let mut signals = StopSignals::install();
    let delivery = reporter
        .finish_or(final_update(outcome), signals.next())
        .await;
    if delivery.lost() > 0 {
        say!(
            "warning: {} reports could not be delivered to the API at {url} (cause: {})",
            delivery.lost(),
            delivery
                .last_error
                .as_deref()
                .unwrap_or("the report buffers were full")
        );
    }
    Some(ApiReport { run_id, delivery })
}

/// `--api-interval`: seconds, at least [`MIN_INTERVAL`].
pub(super) fn parse_api_interval(s: &str) -> Result<Duration, String> {
    let interval = parse_seconds(s)?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "{s} is below the shortest interval, {}s",
            MIN_INTERVAL.as_secs_f64()
        ));
    }
    Ok(interval)
}

/// A number of seconds (fractions allowed), at most a day.
pub(super) fn parse_seconds(s: &str) -> Result<Duration, String> {
    const MAX_SECONDS: f64 = 86_400.0;
    let seconds: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if seconds > MAX_SECONDS {
        return Err(format!("'{s}' is more than a day ({MAX_SECONDS} seconds)"));
    }
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("'{s}' is not a positive number of seconds"))
}

/// Prepare everything (nothing moves until all of it is ready), then run. A stop request while
/// preparing ends the run as `exited` before any data moves.
async fn start(
    resolved: &ResolvedConfig,
    args: &RunArgs,
    run_id: &str,
    metrics: Arc<RunMetrics>,
    reporter: Option<&RunReporter>,
    shutdown: &Shutdown,
) -> anyhow::Result<(RunOutcome, Option<String>)> {
    // The handlers are installed here, not in the task: a task is first polled only when an
    // executor thread is free, and until then a signal would kill the process outright.
    let signals = Watcher(tokio::spawn(watch_signals(
        shutdown.clone(),
        StopSignals::install(),
        resolved.pipeline.replication_mode,
    )));
    // On the blocking pool rather than in place, so that a stop request need not wait for the
    // compilation to end (the process exits without it).
    let preparing = {
        let (resolved, cache_dir) = (resolved.clone(), args.pipeline.cache_dir.clone());
        tokio::task::spawn_blocking(move || prepare::transform(&resolved, cache_dir))
    };
    let transform = tokio::select! {
        prepared = preparing => prepared
            .map_err(|e| anyhow::anyhow!("internal error: preparing the transform failed: {e}"))??,
        _ = shutdown.stop.cancelled() => return Ok((stopped(metrics), None)),
    };
    let label = transform.as_ref().map(|t| {
        format!(
            "{} {} ×{} ({} compiled component)",
            t.info.name,
            t.info.version,
            t.stage.instances.len(),
            if t.from_cache { "cached" } else { "freshly" }
        )
    });
    if let Some(t) = &transform {
        tracing::info!(run = %run_id, transform = %t.info.name, version = %t.info.version, sha256 = %t.digest, cached = t.from_cache, "transform ready");
        if let Some(reporter) = reporter {
            reporter.update(RunUpdate {
                details: RunDetails {
                    transform_name: Some(clip(t.info.name.clone(), MAX_NAME_CHARS)),
                    transform_hash: Some(t.digest.clone()),
                    ..RunDetails::default()
                },
                ..RunUpdate::default()
            });
        }
    }
    let destination = tokio::select! {
        opened = prepare::destination(resolved, run_id) => opened?,
        // A second request: stop now, even with the target half-opened.
        _ = shutdown.abort.cancelled() => return Ok((stopped(metrics), label)),
    };
    let source = if shutdown.stop.is_cancelled() {
        Ok(None)
    } else {
        open_source(resolved, &*destination, run_id, reporter, shutdown).await
    };
    let source = match source {
        Ok(Some(source)) => source,
        not_opened => {
            // The destination may have staged something (a staging table): discard it.
            if let Err(abort) = destination.abort().await {
                tracing::warn!(run = %run_id, "target {}: rollback failed: {abort}", destination.target_id());
            }
            return match not_opened {
                Err(e) => Err(e),
                Ok(_) => Ok((stopped(metrics), label)),
            };
        }
    };
    tracing::info!(
        run = %run_id,
        source = %resolved.source_type,
        target = %resolved.target_type,
        target_id = %destination.target_id(),
        "run started"
    );
    let pipeline = Pipeline {
        source,
        destination,
        transform: transform.map(|t| t.stage),
        max_buffered_batches: resolved.pipeline.max_buffered_batches,
        add_op_fields: resolved
            .pipeline
            .transform
            .as_ref()
            .is_some_and(|t| t.add_op_fields),
        replication_mode: resolved.pipeline.replication_mode,
        allow_empty: resolved.pipeline.allow_empty,
    };
    if let Some(reporter) = reporter {
        reporter.start_sampling(metrics.clone());
    }
    let progress = Progress::start(metrics.clone());
    let outcome = pipeline.run(shutdown.clone(), metrics).await;
    progress.finish();
    drop(signals);
    tracing::info!(run = %run_id, status = ?outcome.status, "run ended");
    Ok((outcome, label))
}

/// Read where an INCREMENTAL run resumes, then open the source; `None` when a stop request came
/// first.
async fn open_source(
    resolved: &ResolvedConfig,
    destination: &dyn Destination,
    run_id: &str,
    reporter: Option<&RunReporter>,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<Box<dyn Source>>> {
    let resume_after = match resolved.pipeline.replication_mode {
        ReplicationMode::Incremental => destination.get_offset().await.map_err(|e| {
            anyhow::anyhow!(
                "target {}: cannot read the stored offset: {e}",
                destination.target_id()
            )
        })?,
        ReplicationMode::FullTable => None,
    };
    if let Some(offset) = &resume_after {
        tracing::info!(run = %run_id, %offset, "INCREMENTAL: resuming after the target's largest key");
        if let Some(reporter) = reporter {
            reporter.update(RunUpdate {
                details: RunDetails {
                    start_offset: Some(offset_text(offset)),
                    ..RunDetails::default()
                },
                ..RunUpdate::default()
            });
        }
    }
    tokio::select! {
        opened = prepare::source(resolved, resume_after) => opened.map(Some),
        _ = shutdown.stop.cancelled() => Ok(None),
    }
}

/// A run stopped on request before any data moved.
fn stopped(metrics: Arc<RunMetrics>) -> RunOutcome {
    RunOutcome {
        status: RunStatus::Exited,
        error: None,
        end_offset: None,
        metrics,
    }
}

/// The signal watcher of a run, stopped when the run is over whichever way `start` returns.
struct Watcher(tokio::task::JoinHandle<()>);

impl Drop for Watcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// SIGINT and SIGTERM, listened for from the moment they are installed.
struct StopSignals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// The next SIGINT or SIGTERM.
    async fn next(&mut self) {
        async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.interrupt) => {},
            _ = recv(&mut self.terminate) => {},
        }
    }
}

/// First Ctrl-C/SIGTERM: stop the source and drain. Second: stop everything now. A FULL_TABLE
/// run keeps nothing of an unfinished run, so its first signal stops everything at once.
async fn watch_signals(shutdown: Shutdown, mut signals: StopSignals, mode: ReplicationMode) {
    signals.next().await;
    if mode == ReplicationMode::FullTable {
        tracing::warn!("stop requested: a FULL_TABLE run keeps nothing of an unfinished run, so it stops now; the target stays as it was");
        shutdown.stop.cancel();
        shutdown.abort.cancel();
        return;
    }
    tracing::warn!("stop requested: finishing the batches in flight (again to stop at once)");
    shutdown.stop.cancel();
    signals.next().await;
    tracing::warn!("second stop request: stopping now");
    shutdown.abort.cancel();
}

fn print_summary(resolved: &ResolvedConfig, outcome: &RunOutcome, transform: Option<&str>) {
    let m = &outcome.metrics;
    let elapsed = m.elapsed();
    let (_, peak_rss) = memory_usage();
    println!(
        "fastlane run {} in {:.2}s",
        serde_json::to_value(outcome.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        elapsed.as_secs_f64()
    );
    println!(
        "  source     {:<10} {:>12} rows extracted",
        resolved.source_type,
        m.extracted.rows()
    );
    match transform {
        Some(label) => println!(
            "  transform  {label}: {} rows out, {} dropped, {:.2}s in wasm",
            m.transformed.rows(),
            m.dropped(),
            m.wasm_nanos.load(Relaxed) as f64 / 1e9
        ),
        None => println!("  transform  none (native path)"),
    }
    println!(
        "  target     {:<10} {:>12} rows loaded",
        resolved.target_type,
        m.loaded.rows()
    );
    println!(
        "  throughput {} rows/s, {:.1} MB/s extracted; peak RSS {} MiB",
        human(rate(m.extracted.rows(), elapsed)),
        rate(m.extracted.bytes(), elapsed) / 1e6,
        peak_rss / (1024 * 1024)
    );
}

fn write_summary(
    args: &RunArgs,
    resolved: &ResolvedConfig,
    run_id: &str,
    outcome: &RunOutcome,
    transform: Option<&str>,
    api: Option<&ApiReport>,
) {
    let Some(path) = &args.summary_json else {
        return;
    };
    let m = &outcome.metrics;
    let elapsed = m.elapsed().as_secs_f64();
    let (_, peak_rss) = memory_usage();
    let mut summary = json!({
        "run_id": run_id,
        "status": outcome.status,
        "error": outcome.error,
        "source": resolved.source_type,
        "target": resolved.target_type,
        "transform": transform,
        "rows_extracted": m.extracted.rows(),
        "rows_transformed": m.transformed.rows(),
        "rows_dropped": m.dropped(),
        "rows_loaded": m.loaded.rows(),
        "batches_extracted": m.extracted.batches(),
        "bytes_extracted": m.extracted.bytes(),
        "wall_seconds": elapsed,
        "wasm_seconds": m.wasm_nanos.load(Relaxed) as f64 / 1e9,
        "extract_seconds": m.extract_nanos.load(Relaxed) as f64 / 1e9,
        "load_seconds": m.load_nanos.load(Relaxed) as f64 / 1e9,
        "rows_per_second": rate(m.extracted.rows(), m.elapsed()),
        "peak_rss_bytes": peak_rss,
        "peak_in_flight_batches": m.peak_in_flight.load(Relaxed),
        "startup_to_first_load_seconds": m.first_loaded.get().map(|d| d.as_secs_f64()),
        "recycled_instances": m.recycled_instances.load(Relaxed),
    });
    if let (Some(api), Some(fields)) = (api, summary.as_object_mut()) {
        fields.insert("api_run_id".into(), json!(api.run_id));
        fields.insert("api_undelivered".into(), json!(api.delivery.lost()));
    }
    if let Err(e) = std::fs::write(
        path,
        serde_json::to_string_pretty(&summary).unwrap_or_default(),
    ) {
        say!("warning: cannot write {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_intervals_are_seconds_no_shorter_than_the_minimum() {
        assert_eq!(parse_api_interval("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_api_interval("0.05"), Ok(Duration::from_millis(50)));
        assert!(parse_api_interval("0.01").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
    }
}
