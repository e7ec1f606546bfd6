//! The `fastlane` command line: `run`, `validate`, `connectors`, `show`, `serve`, `transform`.

/// `eprintln!` with the secrets in the line redacted (a password inside a host URL, a value a
/// server echoed): everything the CLI prints on stderr goes through it.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", fastlane_wire::redact::redact_text(&format!($($arg)*)))
    };
}

mod connectors;
mod run;
mod serve;
mod show;
mod transform;
mod validate;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use fastlane_connectors::ReplicationMode;

use crate::config::Overrides;

/// Exit code of a run that failed (stage error, bad transform, unreachable target...).
pub const EXIT_FAILED: u8 = 1;
/// Exit code of an invalid config or command line.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code of a run stopped by Ctrl-C/SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Move data from a source to a target through a WebAssembly transform.
#[derive(Parser, Debug)]
#[command(name = "fastlane", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a pipeline.
    Run(RunArgs),
    /// Check a config (and a transform component) without moving any data.
    Validate(PipelineArgs),
    /// List the available sources and targets, or print a connector's config schema.
    Connectors(connectors::ConnectorsArgs),
    /// Print the schema and first rows of a CSV, JSONL or Parquet file.
    Show(show::ShowArgs),
    /// Run the monitoring service (pipelines, runs, metrics, logs; OpenAPI docs at /docs).
    Serve(serve::ServeArgs),
    /// Write, build, test and inspect transforms: `new`, `build`, `test`, `inspect`.
    Transform(transform::TransformArgs),
}

/// What selects and overrides the pipeline config.
#[derive(Args, Debug, Clone)]
pub struct PipelineArgs {
    /// Pipeline config (JSON, the original fastlane layout).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Source type (a key of the config's `source` section, e.g. `file`, `generate`).
    #[arg(long)]
    source: Option<String>,
    /// Writer type (a key of the config's `target` section, e.g. `file`).
    #[arg(long)]
    target: Option<String>,
    /// Transform component (.wasm); overrides `transform.wasm`. `default` (the original
    /// fastlane's identity transform) means no transform.
    #[arg(long)]
    transform: Option<PathBuf>,
    /// Number of transform workers; overrides `transform.concurrency`.
    #[arg(long)]
    transform_workers: Option<usize>,
    /// The transform's JSON config; overrides `transform.config`.
    #[arg(long, value_parser = parse_json)]
    transform_config: Option<serde_json::Value>,
    /// FULL_TABLE or INCREMENTAL; overrides `replication_mode`.
    #[arg(long, value_parser = parse_mode)]
    replication_mode: Option<ReplicationMode>,
    /// Set when the command line is the original fastlane's (no verb): see [`with_verb`].
    #[arg(skip)]
    original_cli: bool,
    /// Directory of precompiled transform components (default: ~/.cache/fastlane).
    #[arg(long, env = "FASTLANE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

impl PipelineArgs {
    fn overrides(&self, log_file: Option<PathBuf>) -> Overrides {
        let identity = self.transform.as_deref() == Some(Path::new(IDENTITY_TRANSFORM));
        Overrides {
            source: self.source.clone(),
            target: self.target.clone(),
            transform: self.transform.clone().filter(|_| !identity),
            no_transform: identity,
            original_cli: identity || self.original_cli,
            transform_workers: self.transform_workers,
            transform_config: self.transform_config.clone(),
            log_file,
            replication_mode: self.replication_mode,
            ..Overrides::default()
        }
    }
}

/// `fastlane run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Also write the run log to this file (JSON lines); overrides `logs.log_file`. Without a
    /// value: `logs.log_file`, else `fastlane.log`.
    #[arg(long, alias = "logs_to_file", value_name = "PATH")]
    logs_to_file: Option<Option<PathBuf>>,
    /// Also send the run log to CloudWatch Logs (group: the pipeline id, stream: the run's start
    /// time and id); sets `logs.log_to_cloudwatch`.
    #[arg(long, alias = "logs_to_cloudwatch")]
    logs_to_cloudwatch: bool,
    /// Post to Slack if the run fails (webhook: `logs.slack_webhook_url` or SLACK_WEBHOOK_URL);
    /// sets `logs.error_log_to_slack`.
    #[arg(long, alias = "logs_to_slack")]
    logs_to_slack: bool,
    /// Write the final summary as JSON to this file.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// Log level on stderr (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Report the run (status, metrics, logs) to the monitoring API at this URL, e.g.
    /// http://127.0.0.1:8787 (`fastlane serve`). The run never waits on it.
    #[arg(long = "api", env = "FASTLANE_API_URL", value_name = "URL")]
    api: Option<String>,
    /// Bearer token for the monitoring API.
    #[arg(
        long,
        env = "FASTLANE_API_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    api_token: Option<String>,
    /// Seconds between two metric samples sent to the API (at least 0.05).
    #[arg(long, default_value = "1", value_name = "SECONDS", value_parser = run::parse_api_interval)]
    api_interval: std::time::Duration,
    /// Seconds the run waits at its end for reports and log lines not delivered yet (API,
    /// CloudWatch, Slack).
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = run::parse_seconds)]
    api_drain_timeout: std::time::Duration,
}

impl RunArgs {
    /// The config overrides of this command line.
    fn overrides(&self) -> Overrides {
        Overrides {
            log_to_file: self.logs_to_file.is_some(),
            log_to_cloudwatch: self.logs_to_cloudwatch,
            error_log_to_slack: self.logs_to_slack,
            ..self.pipeline.overrides(self.logs_to_file.clone().flatten())
        }
    }
}

/// `--transform default`: the original fastlane's identity transform, "the only one
/// implemented" there; here, no transform.
const IDENTITY_TRANSFORM: &str = "default";

/// The verbs of this command line, and what clap answers without one.
const VERBS: &[&str] = &[
    "run",
    "validate",
    "connectors",
    "show",
    "serve",
    "transform",
    "help",
    "-h",
    "--help",
    "-V",
    "--version",
];

/// The original fastlane had one form, `fastlane --source=mysql --target=s3 --config=X.json`:
/// a command line that starts with an option is that form, and means `run`. Returns the
/// arguments with the verb, and whether it was added.
fn with_verb(mut args: Vec<OsString>) -> (Vec<OsString>, bool) {
    let original = args
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|first| first.starts_with('-') && !VERBS.contains(&first));
    if original {
        args.insert(1, OsString::from("run"));
    }
    (args, original)
}

fn parse_json(s: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not valid JSON: {e}"))
}

fn parse_mode(s: &str) -> Result<ReplicationMode, String> {
    serde_json::from_value(serde_json::Value::String(s.to_ascii_uppercase()))
        .map_err(|_| format!("'{s}' is not FULL_TABLE or INCREMENTAL"))
}

/// Write to stdout, ignoring a closed pipe (`fastlane connectors | head`).
pub(crate) fn print_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Parse the command line and run the command; the process's exit code.
pub fn main() -> ExitCode {
    crate::metrics::mark_process_start();
    let (args, original_cli) = with_verb(std::env::args_os().collect());
    let mut cli = Cli::parse_from(args);
    if let Command::Run(run) = &mut cli.command {
        run.pipeline.original_cli = original_cli;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => run::run(args).await,
            Command::Validate(args) => validate::validate(args).await,
            Command::Connectors(args) => connectors::connectors(args),
            Command::Show(args) => show::show(args).await,
            Command::Serve(args) => serve::serve(args).await,
            Command::Transform(args) => transform::transform(args).await,
        }
    });
    // Transform workers may still be unwinding a trapped call: don't wait for them.
    runtime.shutdown_background();
    ExitCode::from(code)
}
