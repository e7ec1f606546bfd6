//! `fastlane run`: a [`Run`] from the command line — the config loaded, the observers the
//! arguments ask for, the run executed, its end said on stderr and mapped to an exit code.

use std::time::Duration;

use fastlane_wire::model::RunStatus;

use super::{RunArgs, EXIT_CONFIG, EXIT_FAILED, EXIT_INTERRUPTED};
use crate::config;
use crate::observe::api::{self, ApiReporter, ApiSettings, MIN_INTERVAL};
use crate::observe::progress::ProgressLine;
use crate::observe::summary::Summary;
use crate::run::signals::StopSignals;
use crate::run::{local_run_id, Outcome, Run, RunSpec};

/// How long a run stopped at once still tries to deliver its final reports.
const STOPPED_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) async fn run(args: RunArgs) -> u8 {
    let config = match config::load(args.pipeline.config.as_deref(), &args.overrides()) {
        Ok(c) => c,
        Err(e) => {
            say!("error: {e}");
            return EXIT_CONFIG;
        }
    };
    if let Err(e) = crate::logging::init(&args.log_level, config.pipeline.logs.log_file.as_deref())
    {
        say!("error: {e:#}");
        return EXIT_CONFIG;
    }
    if let Some(reason) = config.original_layout {
        tracing::info!(
            "the config is read in the original fastlane's layout ({reason}): add_op_fields is {}",
            config.add_op_fields()
        );
    }
    let logs = config.pipeline.logs.clone();
    let api = args
        .api
        .as_deref()
        .filter(|url| !url.trim().is_empty())
        .map(|url| ApiSettings {
            url: url.to_string(),
            token: args.api_token.clone().filter(|t| !t.is_empty()),
            interval: args.api_interval,
        });
    // A reported run is known by its API id everywhere: logs, staging names, summary.
    let run_id = match &api {
        Some(_) => api::new_run_id(),
        None => local_run_id(chrono::Utc::now()),
    };
    let watch = api
        .as_ref()
        .map(|s| format!("{}/runs/{run_id}", s.url.trim_end_matches('/')));
    let mut run = Run::new(RunSpec {
        config,
        run_id,
        cache_dir: args.pipeline.cache_dir.clone(),
        listen_to_signals: true,
    });
    if let Some(line) = ProgressLine::on_terminal() {
        run.observe(line);
    }
    let api_report = match api.map(|settings| ApiReporter::start(&settings, run.info())) {
        Some(Ok(reporter)) => {
            let report = reporter.report();
            run.observe(reporter);
            if let Some(watch) = watch {
                tracing::info!("watch this run live in the web UI: {watch}");
            }
            Some(report)
        }
        // The run itself never depends on the API.
        Some(Err(e)) => {
            say!("warning: the run is not reported to the API: {e:#}");
            None
        }
        None => None,
    };
    crate::logging::observe(&mut run, &logs);
    run.observe(Summary::new(args.summary_json.clone(), api_report));

    let shutdown = run.shutdown();
    let (outcome, observers) = run.execute().await;
    let code = say_outcome(&outcome);
    // Stopped at once: the reports not delivered yet get a moment, not the whole drain timeout.
    let drain_timeout = if shutdown.abort.is_cancelled() {
        args.api_drain_timeout.min(STOPPED_DRAIN_TIMEOUT)
    } else {
        args.api_drain_timeout
    };
    // The run's signal watcher is gone: a Ctrl-C now cuts the wait short.
    let give_up = StopSignals::next_as_token();
    for warning in observers.finish(drain_timeout, give_up).await {
        say!("warning: {warning}");
    }
    code
}

/// Say how the run ended, on stderr; its exit code.
fn say_outcome(outcome: &Outcome) -> u8 {
    let cause = outcome.error.as_deref().unwrap_or("unknown cause");
    match outcome.status {
        RunStatus::Completed | RunStatus::Running => 0,
        RunStatus::Exited => {
            say!("run stopped on request");
            EXIT_INTERRUPTED
        }
        RunStatus::Failed if outcome.failed_early => {
            say!("error: {cause}");
            if outcome.config_error {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            }
        }
        RunStatus::Failed => {
            say!("error: run failed: {cause}");
            EXIT_FAILED
        }
    }
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
