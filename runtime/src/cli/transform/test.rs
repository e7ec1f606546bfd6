//! `fastlane transform test my.wasm --input sample.csv`: run a component on a sample file in the
//! sandbox `fastlane run` uses, and print its output table, its logs and where the time went.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use clap::Args;
use fastlane_connectors::{registry, SourceContext};

use super::compare;
use crate::cli::{print_out, EXIT_CONFIG, EXIT_FAILED};
use crate::config::ConfigError;
use crate::run::transform::config_problems;
use crate::wasm::{SandboxLimits, TransformRuntime};

/// `fastlane transform test`.
#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// The component (.wasm).
    wasm: PathBuf,
    /// Sample input: a CSV, JSONL or Parquet file (a glob reads several).
    #[arg(long, short = 'i')]
    input: String,
    /// The transform's JSON config, or `@FILE` to read it from a file (default `{}`).
    #[arg(long, short = 'c', value_name = "JSON")]
    config: Option<String>,
    /// Compare the output with this file (CSV, JSONL or Parquet): same columns in the same
    /// order, same rows and values (the expected values are read as the output's types).
    /// A difference fails the command.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Rows of output to print.
    #[arg(long, default_value_t = 20)]
    rows: usize,
    /// Rows per input batch (one `transform` call each).
    #[arg(long, default_value_t = 65_536)]
    batch_size: usize,
    /// Deadline of each call, in milliseconds (as `transform.limits.call_timeout_ms`).
    #[arg(long, default_value_t = SandboxLimits::default().call_timeout_ms)]
    call_timeout_ms: u64,
    /// Linear memory cap, in MiB (as `transform.limits.memory_mb`).
    #[arg(long, default_value_t = SandboxLimits::default().memory_mb)]
    memory_mb: u64,
}

pub(crate) async fn test(args: TestArgs) -> u8 {
    // The guest's log lines and captured stdout/stderr go to stderr, as in a run.
    crate::logging::init("info", None).ok();
    match run(&args).await {
        Ok(true) => 0,
        Ok(false) => EXIT_FAILED,
        Err(e) => {
            say!("error: {e:#}");
            if e.downcast_ref::<ConfigError>().is_some() {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            }
        }
    }
}

/// Time spent in the calls, for the report.
#[derive(Default)]
struct Timing {
    load: Duration,
    instantiate: Duration,
    init: Duration,
    transform: Duration,
    finish: Duration,
    calls: usize,
    slowest: Duration,
}

/// Runs the test; `Ok(false)` when the output differs from `--expect`.
async fn run(args: &TestArgs) -> anyhow::Result<bool> {
    let config = transform_config(args.config.as_deref())?;
    let limits = SandboxLimits {
        call_timeout_ms: args.call_timeout_ms,
        memory_mb: args.memory_mb,
        recycle_above_mb: 0,
        ..SandboxLimits::default()
    };
    let input = read_file(&args.input, args.batch_size).await?;
    let input_rows: usize = input.iter().map(RecordBatch::num_rows).sum();

    let mut timing = Timing::default();
    let (output, info, peak_memory, from_cache) = tokio::task::block_in_place(|| {
        let started = Instant::now();
        let runtime = TransformRuntime::new(1, &limits, None)?;
        let component = runtime.load(&args.wasm, limits.clone())?;
        timing.load = started.elapsed();

        let started = Instant::now();
        let mut instance = component.instantiate()?;
        timing.instantiate = started.elapsed();
        let info = instance.describe()?;
        instance.set_name(&info.name);
        let problems = config_problems(&info, &config);
        if !problems.is_empty() {
            return Err(ConfigError {
                origin: format!("for transform '{}' (--config)", info.name),
                problems,
            }
            .into());
        }
        let started = Instant::now();
        instance.init(&config.to_string())?;
        timing.init = started.elapsed();

        let mut output = Vec::new();
        for (seq, batch) in input.iter().enumerate() {
            let started = Instant::now();
            let result = instance.transform(seq as u64, batch)?;
            let took = started.elapsed();
            timing.transform += took;
            timing.slowest = timing.slowest.max(took);
            timing.calls += 1;
            output.extend(result);
        }
        let started = Instant::now();
        output.extend(instance.finish()?);
        timing.finish = started.elapsed();
        anyhow::Ok((output, info, instance.peak_memory(), component.from_cache()))
    })?;

    let mut report = format!(
        "transform: {} {} ({})\ninput: {input_rows} rows in {} batch(es) from {}\n",
        info.name,
        info.version,
        info.description,
        input.len(),
        args.input
    );
    let output_rows: usize = output.iter().map(RecordBatch::num_rows).sum();
    match output.first() {
        Some(first) => {
            let schema = first.schema();
            if let Some(other) = output.iter().find(|b| b.schema() != schema) {
                anyhow::bail!(
                    "the transform returned batches of different schemas: {schema:?} then {:?}",
                    other.schema()
                );
            }
            report.push_str("output schema:\n");
            for field in schema.fields() {
                let null = if field.is_nullable() { "" } else { " not null" };
                report.push_str(&format!(
                    "  {}: {}{null}\n",
                    field.name(),
                    field.data_type()
                ));
            }
            let shown = first_rows(&output, args.rows);
            if !shown.is_empty() {
                report.push_str(&format!("{}\n", pretty_format_batches(&shown)?));
            }
            let more = output_rows.saturating_sub(args.rows);
            if more > 0 {
                report.push_str(&format!("… {more} more row(s)\n"));
            }
            report.push_str(&format!("output: {output_rows} rows\n"));
        }
        None => report.push_str("output: none (the transform returned no batch)\n"),
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per_second = if timing.transform.is_zero() {
        0.0
    } else {
        input_rows as f64 / timing.transform.as_secs_f64()
    };
    report.push_str(&format!(
        "timing: load {:.1} ms ({}), instantiate {:.2} ms, init {:.2} ms, transform {:.1} ms \
         over {} call(s) (slowest {:.1} ms, {per_second:.0} rows/s), finish {:.2} ms; \
         guest memory peak {:.1} MiB\n",
        ms(timing.load),
        if from_cache {
            "precompiled cache hit"
        } else {
            "compiled"
        },
        ms(timing.instantiate),
        ms(timing.init),
        ms(timing.transform),
        timing.calls,
        ms(timing.slowest),
        ms(timing.finish),
        peak_memory as f64 / (1 << 20) as f64,
    ));
    print_out(&report);

    let Some(expect) = &args.expect else {
        return Ok(true);
    };
    let expected = read_file(&expect.display().to_string(), 65_536).await?;
    match compare::same_table(&output, &expected) {
        Ok(()) => {
            print_out(&format!("expected output {}: match\n", expect.display()));
            Ok(true)
        }
        Err(difference) => {
            say!(
                "error: the output differs from {}: {difference}",
                expect.display()
            );
            Ok(false)
        }
    }
}

/// The config given on the command line (`{}` when none).
fn transform_config(arg: Option<&str>) -> anyhow::Result<serde_json::Value> {
    let Some(arg) = arg else {
        return Ok(serde_json::json!({}));
    };
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("--config @{path}"))?,
            format!("--config @{path}"),
        ),
        None => (arg.to_string(), "--config".to_string()),
    };
    serde_json::from_str(&text).with_context(|| format!("{origin} is not valid JSON"))
}

/// Every batch of a CSV, JSONL or Parquet file, read by the `file` source.
async fn read_file(path: &str, batch_size: usize) -> anyhow::Result<Vec<RecordBatch>> {
    let config = serde_json::json!({ "path": path, "batch_size": batch_size.max(1) });
    let mut source = registry::open_source("file", &config, SourceContext::default())
        .await
        .with_context(|| format!("cannot read {path}"))?;
    let mut batches = Vec::new();
    while let Some(batch) = source
        .extract()
        .await
        .with_context(|| format!("cannot read {path}"))?
    {
        batches.push(batch);
    }
    Ok(batches)
}

/// The first `rows` rows of `batches`.
fn first_rows(batches: &[RecordBatch], rows: usize) -> Vec<RecordBatch> {
    let mut left = rows;
    let mut shown = Vec::new();
    for batch in batches {
        if left == 0 {
            break;
        }
        let take = batch.num_rows().min(left);
        if take > 0 {
            shown.push(batch.slice(0, take));
            left -= take;
        }
    }
    shown
}
