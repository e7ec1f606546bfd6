//! `fastlane run`: validate, prepare, run the pipeline, report.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use fastlane_connectors::ReplicationMode;
use serde_json::json;

use super::{prepare, RunArgs, EXIT_CONFIG, EXIT_FAILED, EXIT_INTERRUPTED};
use crate::config::{self, ResolvedConfig};
use crate::monitor::{memory_usage, progress::human, rate, Progress, RunMetrics};
use crate::pipeline::{Pipeline, RunOutcome, RunStatus, Shutdown};

pub(crate) async fn run(args: RunArgs) -> u8 {
    let resolved = match config::load(
        args.pipeline.config.as_deref(),
        &args.pipeline.overrides(args.logs_to_file.clone()),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_CONFIG;
        }
    };
    if let Err(e) =
        crate::logging::init(&args.log_level, resolved.pipeline.logs.log_file.as_deref())
    {
        eprintln!("error: {e:#}");
        return EXIT_CONFIG;
    }
    let run_id = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string()
        + &format!("-{}", std::process::id());
    let metrics = RunMetrics::new();
    let (outcome, transform_label) = match start(&resolved, &args, &run_id, metrics.clone()).await {
        Ok(done) => done,
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(run = %run_id, "run failed before any data moved: {message}");
            eprintln!("error: {message}");
            let code = if e.downcast_ref::<config::ConfigError>().is_some() {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            };
            let outcome = RunOutcome {
                status: RunStatus::Failed,
                error: Some(message),
                metrics,
            };
            write_summary(&args, &resolved, &run_id, &outcome, None);
            return code;
        }
    };
    print_summary(&resolved, &outcome, transform_label.as_deref());
    write_summary(
        &args,
        &resolved,
        &run_id,
        &outcome,
        transform_label.as_deref(),
    );
    match outcome.status {
        RunStatus::Completed => 0,
        RunStatus::Exited => {
            eprintln!("run stopped on request");
            EXIT_INTERRUPTED
        }
        RunStatus::Failed => {
            eprintln!(
                "error: run failed: {}",
                outcome.error.as_deref().unwrap_or("unknown cause")
            );
            EXIT_FAILED
        }
    }
}

/// Prepare everything (nothing moves until all of it is ready), then run.
async fn start(
    resolved: &ResolvedConfig,
    args: &RunArgs,
    run_id: &str,
    metrics: Arc<RunMetrics>,
) -> anyhow::Result<(RunOutcome, Option<String>)> {
    let cache_dir = args.pipeline.cache_dir.clone();
    let transform = tokio::task::block_in_place(|| prepare::transform(resolved, cache_dir))?;
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
    }
    let destination = prepare::destination(resolved, run_id).await?;
    let resume_after = match resolved.pipeline.replication_mode {
        ReplicationMode::Incremental => destination.get_offset().await.map_err(|e| {
            anyhow::anyhow!(
                "target {}: cannot read the stored offset: {e}",
                destination.target_id()
            )
        }),
        ReplicationMode::FullTable => Ok(None),
    };
    if let Ok(Some(offset)) = &resume_after {
        tracing::info!(run = %run_id, %offset, "INCREMENTAL: resuming after the target's largest key");
    }
    let source = match resume_after {
        Ok(resume_after) => prepare::source(resolved, resume_after).await,
        Err(e) => Err(e),
    };
    let source = match source {
        Ok(source) => source,
        Err(e) => {
            // The destination may have staged something (a staging table): discard it.
            if let Err(abort) = destination.abort().await {
                tracing::warn!(run = %run_id, "target {}: rollback failed: {abort}", destination.target_id());
            }
            return Err(e);
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
    };
    let shutdown = Shutdown::default();
    // The handlers are installed here, not in the task: a task is first polled only when an
    // executor thread is free, and until then a signal would kill the process outright.
    let signals = tokio::spawn(watch_signals(shutdown.clone(), StopSignals::install()));
    let progress = Progress::start(metrics.clone());
    let outcome = pipeline.run(shutdown, metrics).await;
    progress.finish();
    signals.abort();
    tracing::info!(run = %run_id, status = ?outcome.status, "run ended");
    Ok((outcome, label))
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

/// First Ctrl-C/SIGTERM: stop the source and drain. Second: stop everything now.
async fn watch_signals(shutdown: Shutdown, mut signals: StopSignals) {
    signals.next().await;
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
) {
    let Some(path) = &args.summary_json else {
        return;
    };
    let m = &outcome.metrics;
    let elapsed = m.elapsed().as_secs_f64();
    let (_, peak_rss) = memory_usage();
    let summary = json!({
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
    if let Err(e) = std::fs::write(
        path,
        serde_json::to_string_pretty(&summary).unwrap_or_default(),
    ) {
        eprintln!("warning: cannot write {}: {e}", path.display());
    }
}
