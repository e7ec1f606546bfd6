//! The `logs` section: the run log's file, CloudWatch Logs and Slack, and what the schema
//! cannot check about them.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Problem;

/// Environment variable holding the Slack webhook when `logs.slack_webhook_url` is not set.
pub const SLACK_WEBHOOK_ENV: &str = "SLACK_WEBHOOK_URL";

/// The `logs` section (the original fastlane's keys, and where CloudWatch and Slack are).
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// Also write the run log to this file (JSON lines).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub log_file: Option<PathBuf>,
    /// Send the run log (info and above, the transform's lines included) to CloudWatch Logs:
    /// one log group per pipeline, one log stream per run. A CloudWatch outage never fails or
    /// slows the run; undelivered lines are counted and reported at its end.
    #[serde(default)]
    pub log_to_cloudwatch: bool,
    /// CloudWatch log group. Default: the pipeline id (`{source}-{target}-{target_id}`, as the
    /// monitoring API names it). Up to 512 characters among `A-Z a-z 0-9 . - _ / #`.
    #[serde(default)]
    pub cloudwatch_log_group: Option<String>,
    /// AWS region of CloudWatch Logs. Default: `AWS_REGION` (or `AWS_DEFAULT_REGION`, or the
    /// profile's).
    #[serde(default)]
    #[schemars(
        length(min = 1, max = 64),
        pattern(fastlane_connectors::secrets::REGION_PATTERN)
    )]
    pub cloudwatch_region: Option<String>,
    /// Endpoint override for CloudWatch Logs (an AWS-compatible service), e.g.
    /// `http://127.0.0.1:4566`. Default: `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` or
    /// `AWS_ENDPOINT_URL`, else AWS itself. Credentials come from the standard AWS chain.
    #[serde(default)]
    pub cloudwatch_endpoint_url: Option<String>,
    /// Post to Slack when the run fails: one message naming the pipeline, the run and the
    /// cause. Slack being down never changes the run's outcome.
    #[serde(default)]
    pub error_log_to_slack: bool,
    /// Slack incoming-webhook URL. Default: the `SLACK_WEBHOOK_URL` environment variable. It is
    /// a secret: write `"${SLACK_WEBHOOK_URL}"` to keep it out of the file.
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub slack_webhook_url: Option<String>,
    /// What goes to Slack: `error` (default) posts only the failure of a run; `warn` or `info`
    /// also post the run's log lines at that level and above, several lines per message.
    #[serde(default)]
    pub slack_level: SlackLevel,
}

impl LogsConfig {
    /// The Slack webhook: `slack_webhook_url`, else the `SLACK_WEBHOOK_URL` environment variable.
    pub fn slack_webhook(&self) -> Option<String> {
        let given = |url: &String| !url.trim().is_empty();
        self.slack_webhook_url
            .clone()
            .filter(given)
            .or_else(|| std::env::var(SLACK_WEBHOOK_ENV).ok().filter(given))
    }
}

/// The lowest level of the log lines posted to Slack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SlackLevel {
    /// Only a failed run's notice (one message per failed run).
    #[default]
    Error,
    /// The failure notice, and warnings and errors as they are logged.
    Warn,
    /// The failure notice, and every line at info level and above.
    Info,
}

/// What the schema cannot say about the `logs` section: the Slack webhook must be there when
/// Slack is on (the environment counts), and names and URLs must be usable.
pub(super) fn check_logs(logs: &LogsConfig, problems: &mut Vec<Problem>) {
    if logs.error_log_to_slack {
        match logs.slack_webhook() {
            None => problems.push(Problem {
                path: "logs.slack_webhook_url".into(),
                message: format!(
                    "Slack is on (error_log_to_slack or --logs-to-slack) but no webhook is \
                     given: set logs.slack_webhook_url (e.g. \"${{{SLACK_WEBHOOK_ENV}}}\") or \
                     {SLACK_WEBHOOK_ENV} in the environment"
                ),
            }),
            Some(url) => {
                if let Err(e) = check_webhook_url(&url) {
                    problems.push(Problem {
                        path: "logs.slack_webhook_url".into(),
                        message: e,
                    });
                }
            }
        }
    }
    if let Some(group) = &logs.cloudwatch_log_group {
        if let Err(e) = check_log_group_name(group) {
            problems.push(Problem {
                path: "logs.cloudwatch_log_group".into(),
                message: e,
            });
        }
    }
    if let Some(url) = logs.cloudwatch_endpoint_url.as_deref() {
        let ok = (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() > "https://".len();
        if !ok {
            problems.push(Problem {
                path: "logs.cloudwatch_endpoint_url".into(),
                message: format!("'{url}' is not an http:// or https:// URL"),
            });
        }
    }
}

/// Whether `url` can be a Slack webhook; what is wrong otherwise (without repeating the URL: it
/// is a secret).
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url.trim()).map_err(|e| format!("the webhook is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("the webhook must be an https:// (or http://) URL".into());
    }
    Ok(())
}

/// Longest CloudWatch log group name, in characters.
pub const MAX_LOG_GROUP_CHARS: usize = 512;

/// Whether `name` may be given as `logs.cloudwatch_log_group`; what is wrong otherwise.
pub fn check_log_group_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err("a log group name cannot be empty".into());
    }
    if chars > MAX_LOG_GROUP_CHARS {
        return Err(format!(
            "{chars} characters: a log group name has at most {MAX_LOG_GROUP_CHARS}"
        ));
    }
    if let Some(c) = name.chars().find(|c| !is_log_group_char(*c)) {
        return Err(format!(
            "'{c}' is not allowed in a log group name (only A-Z a-z 0-9 . - _ / #)"
        ));
    }
    if name.starts_with("aws/") {
        return Err("log group names starting with `aws/` are reserved by AWS".into());
    }
    Ok(())
}

/// A character a CloudWatch log group name may hold.
pub fn is_log_group_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}
