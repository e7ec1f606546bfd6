//! The pipeline config: the original fastlane's JSON layout, parsed, `${ENV}`-resolved and
//! validated as a whole (every problem reported at once with its JSON path) before anything
//! connects.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use fastlane_connectors::{registry, secrets, ReplicationMode};
use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wasm::SandboxLimits;

/// A whole pipeline, as written in `pipeline.json`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// The source section: `{ "<type>": { ...connector config... } }`. Several types may be
    /// present; `--source` picks one.
    #[serde(default)]
    pub source: BTreeMap<String, Value>,
    /// The target section: `{ "<type>": { ...connector config... } }`; `--target` picks one.
    #[serde(default)]
    pub target: BTreeMap<String, Value>,
    /// The Wasm transform; without it batches go straight from source to target.
    #[serde(default)]
    pub transform: Option<TransformConfig>,
    /// FULL_TABLE (replace the target atomically) or INCREMENTAL (resume after the target's
    /// largest key).
    #[serde(default)]
    pub replication_mode: ReplicationMode,
    /// Capacity, in batches, of each queue between stages. Peak memory is bounded by batch size
    /// times this, never by the size of the source.
    #[serde(default = "default_max_buffered_batches")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_buffered_batches: usize,
    /// Where the run's log goes.
    #[serde(default)]
    pub logs: LogsConfig,
    /// Let a FULL_TABLE run that loads no row at all (an empty source, or a transform that
    /// drops everything) replace the target with an empty one. Without it such a run fails
    /// and leaves the target as it was.
    #[serde(default)]
    pub allow_empty: bool,
}

fn default_max_buffered_batches() -> usize {
    8
}

/// The `transform` section.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// Path of the transform component (`.wasm`), relative to the current directory.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub wasm: Option<PathBuf>,
    /// Number of transform workers, each with its own sandboxed instance.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 256))]
    pub concurrency: usize,
    /// The transform's own config, passed as JSON to its `init` and checked against the schema
    /// its `describe` returns.
    #[serde(default = "empty_object")]
    pub config: Value,
    /// Append `_op_type` ('i') and `_op_timestamp` (ms since epoch) columns to every batch.
    #[serde(default)]
    pub add_op_fields: bool,
    /// Sandbox limits of each instance.
    #[serde(default)]
    pub limits: SandboxLimits,
}

impl Default for TransformConfig {
    fn default() -> Self {
        Self {
            wasm: None,
            concurrency: default_concurrency(),
            config: empty_object(),
            add_op_fields: false,
            limits: SandboxLimits::default(),
        }
    }
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

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
        pattern(fastlane_connectors::aws::REGION_PATTERN)
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

/// Environment variable holding the Slack webhook when `logs.slack_webhook_url` is not set.
pub const SLACK_WEBHOOK_ENV: &str = "SLACK_WEBHOOK_URL";

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

/// Command-line choices that select sections of the file and override it.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--source`: which source section to use.
    pub source: Option<String>,
    /// `--target`: which target section to use.
    pub target: Option<String>,
    /// `--transform`: the component path.
    pub transform: Option<PathBuf>,
    /// `--transform-workers`.
    pub transform_workers: Option<usize>,
    /// `--transform-config`: the transform's JSON config.
    pub transform_config: Option<Value>,
    /// `--logs-to-file`.
    pub log_file: Option<PathBuf>,
    /// `--logs-to-cloudwatch`: sets `logs.log_to_cloudwatch` (a flag cannot turn it off).
    pub log_to_cloudwatch: bool,
    /// `--logs-to-slack`: sets `logs.error_log_to_slack` (a flag cannot turn it off).
    pub error_log_to_slack: bool,
    /// `--replication-mode`.
    pub replication_mode: Option<ReplicationMode>,
}

/// A config that passed validation, with the chosen connectors.
#[derive(Clone, Debug)]
pub struct ResolvedConfig {
    /// The config as written, with the command line's overrides and `${ENV}` references left
    /// unresolved (what may be shown or stored, once redacted).
    pub document: Value,
    /// The whole (env-resolved) config.
    pub pipeline: PipelineConfig,
    /// The chosen source type.
    pub source_type: String,
    /// The chosen source's config section.
    pub source: Value,
    /// The chosen target type.
    pub target_type: String,
    /// The chosen target's config section.
    pub target: Value,
}

impl ResolvedConfig {
    /// The config as it may be shown or stored: [`ResolvedConfig::document`] with the values
    /// the chosen connectors mark secret (`writeOnly` in their schema) and anything that looks
    /// like a secret replaced.
    pub fn shareable(&self) -> Value {
        let mut document = self.document.clone();
        for (kind, name, schema) in [
            (
                "source",
                &self.source_type,
                registry::source_entry(&self.source_type).map(|e| e.schema()),
            ),
            (
                "target",
                &self.target_type,
                registry::target_entry(&self.target_type).map(|e| e.schema()),
            ),
        ] {
            if let (Some(schema), Some(section)) = (
                schema,
                document
                    .get_mut(kind)
                    .and_then(|k| k.get_mut(name.as_str())),
            ) {
                redact_write_only(schema.as_value(), section);
            }
        }
        fastlane_api::redact::redact_config(&document)
    }

    /// The transform section, when a component is configured.
    pub fn transform(&self) -> Option<(&TransformConfig, &Path)> {
        let t = self.pipeline.transform.as_ref()?;
        Some((t, t.wasm.as_deref()?))
    }
}

/// One problem in the config, at a JSON path such as `target.file.path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted JSON path of the offending value (`<root>` for the document itself).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in a config.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// Where the config came from.
    pub origin: String,
    /// All problems, in document order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid config {} ({n} problem{}):",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {}: {}", p.path, p.message)?;
        }
        Ok(())
    }
}

/// Read, resolve and validate a config file (or an empty config when `path` is `None`).
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<ResolvedConfig, ConfigError> {
    let (origin, text) = match path {
        Some(p) => {
            let origin = p.display().to_string();
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                origin: origin.clone(),
                problems: vec![Problem {
                    path: "<file>".into(),
                    message: format!("cannot read {origin}: {e}"),
                }],
            })?;
            (origin, text)
        }
        None => ("(no --config: defaults)".to_string(), "{}".to_string()),
    };
    parse(&origin, &text, overrides)
}

/// Resolve and validate config text. `origin` names it in errors.
pub fn parse(
    origin: &str,
    text: &str,
    overrides: &Overrides,
) -> Result<ResolvedConfig, ConfigError> {
    let fail = |problems: Vec<Problem>| ConfigError {
        origin: origin.to_string(),
        problems,
    };
    let mut doc: Value = serde_json::from_str(text).map_err(|e| {
        fail(vec![Problem {
            path: "<root>".into(),
            message: format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        }])
    })?;
    let mut problems = Vec::new();
    // What the user wrote (plus the command line), before `${ENV}` references are filled in.
    let mut document = doc.clone();
    apply_overrides(&mut document, overrides);
    resolve_env(&mut doc, &mut String::new(), &mut problems);
    apply_overrides(&mut doc, overrides);
    problems.extend(schema_problems(
        &schemars::schema_for!(PipelineConfig),
        &doc,
        "",
    ));
    // The document's shape is wrong: the connector checks below would only add noise.
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    let source = choose(
        &doc,
        "source",
        overrides.source.as_deref(),
        &mut problems,
        |n| registry::source_entry(n).map(|e| e.schema()),
        registry::SOURCES.iter().map(|e| e.name),
    );
    let target = choose(
        &doc,
        "target",
        overrides.target.as_deref(),
        &mut problems,
        |n| registry::target_entry(n).map(|e| e.schema()),
        registry::TARGETS.iter().map(|e| e.name),
    );
    let pipeline: PipelineConfig = match serde_json::from_value(doc) {
        Ok(p) => p,
        Err(e) => {
            problems.push(Problem {
                path: "<root>".into(),
                message: e.to_string(),
            });
            return Err(fail(problems));
        }
    };
    check_logs(&pipeline.logs, &mut problems);
    // What each connector checks before connecting, run here too: `validate` and `run` refuse
    // the same configs. A section naming a secret is checked once the secret fills it.
    let mode = pipeline.replication_mode;
    if let Some((name, section)) = &source {
        if let Some(entry) = registry::source_entry(name) {
            connector_problems(entry.check, "source", name, section, mode, &mut problems);
        }
    }
    if let Some((name, section)) = &target {
        if let Some(entry) = registry::target_entry(name) {
            connector_problems(entry.check, "target", name, section, mode, &mut problems);
        }
    }
    if let Some(url) = pipeline.logs.slack_webhook() {
        fastlane_api::redact::register_secret(&url);
    }
    match (source, target) {
        (Some((source_type, source)), Some((target_type, target))) if problems.is_empty() => {
            if let Some(entry) = registry::source_entry(&source_type) {
                register_secrets(entry.schema().as_value(), &source);
            }
            if let Some(entry) = registry::target_entry(&target_type) {
                register_secrets(entry.schema().as_value(), &target);
            }
            Ok(ResolvedConfig {
                document,
                pipeline,
                source_type,
                source,
                target_type,
                target,
            })
        }
        _ => Err(fail(problems)),
    }
}

/// Replace the values `schema` marks `writeOnly` (secrets) in `value`, at any depth.
fn redact_write_only(schema: &Value, value: &mut Value) {
    let (Some(properties), Some(fields)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object_mut(),
    ) else {
        return;
    };
    for (key, field) in fields.iter_mut() {
        let Some(property) = properties.get(key) else {
            continue;
        };
        let reference = field
            .as_str()
            .is_some_and(|s| s.starts_with("${") && s.ends_with('}'));
        if property.get("writeOnly") == Some(&Value::Bool(true)) && !field.is_null() && !reference {
            *field = Value::String(fastlane_api::redact::REDACTED.into());
        } else {
            redact_write_only(property, field);
        }
    }
}

/// Remember, as secrets of this process, the values `schema` marks `writeOnly` in `value`
/// and the passwords of the URLs in it, so that no log line, message or report shows them.
pub(crate) fn register_secrets(schema: &Value, value: &Value) {
    let properties = schema.get("properties").and_then(Value::as_object);
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let property = properties.and_then(|p| p.get(key));
                if property.and_then(|p| p.get("writeOnly")) == Some(&Value::Bool(true)) {
                    if let Some(secret) = field.as_str() {
                        fastlane_api::redact::register_secret(secret);
                    }
                }
                register_secrets(property.unwrap_or(&Value::Null), field);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| register_secrets(&Value::Null, item)),
        Value::String(text) => {
            if let Some(password) = url_password(text) {
                fastlane_api::redact::register_secret(password);
            }
        }
        _ => {}
    }
}

/// The password of `scheme://user:password@host…`, if `text` is such a URL.
fn url_password(text: &str) -> Option<&str> {
    let rest = &text[text.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(&userinfo[userinfo.find(':')? + 1..]).filter(|p| !p.is_empty())
}

/// Pick the section `kind` (source/target) named by the flag, or the only one present, and
/// validate it against its connector's schema.
fn choose(
    doc: &Value,
    kind: &str,
    flag: Option<&str>,
    problems: &mut Vec<Problem>,
    schema_of: impl Fn(&str) -> Option<schemars::Schema>,
    known: impl Iterator<Item = &'static str>,
) -> Option<(String, Value)> {
    let empty = serde_json::Map::new();
    let sections = doc.get(kind).and_then(Value::as_object).unwrap_or(&empty);
    let name = match flag {
        Some(name) => name.to_string(),
        None => match sections.len() {
            1 => sections.keys().next()?.clone(),
            0 => {
                problems.push(Problem {
                    path: kind.into(),
                    message: format!("no {kind} given: add a `{kind}` section or pass --{kind}"),
                });
                return None;
            }
            _ => {
                let names: Vec<_> = sections.keys().map(String::as_str).collect();
                problems.push(Problem {
                    path: kind.into(),
                    message: format!(
                        "several {kind}s configured ({}): choose one with --{kind}",
                        names.join(", ")
                    ),
                });
                return None;
            }
        },
    };
    let path = format!("{kind}.{name}");
    let Some(schema) = schema_of(&name) else {
        let known: Vec<_> = known.collect();
        problems.push(Problem {
            path,
            message: format!(
                "unknown {kind} type '{name}' (available: {})",
                known.join(", ")
            ),
        });
        return None;
    };
    let section = sections.get(&name).cloned().unwrap_or_else(empty_object);
    // A secret read later may still give the connection keys: only the rest is required now.
    let schema = match secrets::reference(&section) {
        Some(_) => secrets::relax_required(schema),
        None => schema,
    };
    let found = schema_problems(&schema, &section, &path);
    let ok = found.is_empty();
    problems.extend(found);
    ok.then_some((name, section))
}

/// The problem a connector's own check finds in its section (none for a section whose
/// connection keys come from a secret not read yet).
fn connector_problems(
    check: registry::CheckFn,
    kind: &str,
    name: &str,
    section: &Value,
    mode: ReplicationMode,
    problems: &mut Vec<Problem>,
) {
    if secrets::reference(section).is_some() {
        return;
    }
    if let Err(e) = check(section, mode) {
        problems.push(match e {
            fastlane_connectors::ConnectorError::Config { path, message } => {
                Problem { path, message }
            }
            other => Problem {
                path: format!("{kind}.{name}"),
                message: other.to_string(),
            },
        });
    }
}

/// What the schema cannot say about the `logs` section: the Slack webhook must be there when
/// Slack is on (the environment counts), and names and URLs must be usable.
fn check_logs(logs: &LogsConfig, problems: &mut Vec<Problem>) {
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
                if let Err(e) = crate::logging::slack::check_webhook_url(&url) {
                    problems.push(Problem {
                        path: "logs.slack_webhook_url".into(),
                        message: e,
                    });
                }
            }
        }
    }
    if let Some(group) = &logs.cloudwatch_log_group {
        if let Err(e) = crate::logging::cloudwatch::check_log_group_name(group) {
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

fn apply_overrides(doc: &mut Value, o: &Overrides) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let transform_touched =
        o.transform.is_some() || o.transform_workers.is_some() || o.transform_config.is_some();
    if transform_touched {
        let section = root.entry("transform").or_insert_with(empty_object);
        if section.is_null() {
            *section = empty_object();
        }
        if let Some(t) = section.as_object_mut() {
            if let Some(wasm) = &o.transform {
                t.insert("wasm".into(), Value::String(wasm.display().to_string()));
            }
            if let Some(n) = o.transform_workers {
                t.insert("concurrency".into(), Value::from(n));
            }
            if let Some(c) = &o.transform_config {
                t.insert("config".into(), c.clone());
            }
        }
    }
    let mut set_log = |key: &str, value: Value| {
        let logs = root.entry("logs").or_insert_with(empty_object);
        if logs.is_null() {
            *logs = empty_object();
        }
        if let Some(l) = logs.as_object_mut() {
            l.insert(key.into(), value);
        }
    };
    if let Some(file) = &o.log_file {
        set_log("log_file", Value::String(file.display().to_string()));
    }
    if o.log_to_cloudwatch {
        set_log("log_to_cloudwatch", Value::Bool(true));
    }
    if o.error_log_to_slack {
        set_log("error_log_to_slack", Value::Bool(true));
    }
    if let Some(mode) = o.replication_mode {
        if let Ok(v) = serde_json::to_value(mode) {
            root.insert("replication_mode".into(), v);
        }
    }
}

/// Replace `${NAME}` in every string with the environment variable's value.
fn resolve_env(value: &mut Value, path: &mut String, problems: &mut Vec<Problem>) {
    match value {
        Value::String(s) if s.contains("${") => match expand(s) {
            Ok(v) => *s = v,
            Err(name) => problems.push(Problem {
                path: display_path(path),
                message: format!(
                    "environment variable {name} referenced as ${{{name}}} is not set"
                ),
            }),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                resolve_env(item, path, problems);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                resolve_env(item, path, problems);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Expand `${NAME}` references; `Err(NAME)` for the first unset variable. `$${` escapes.
fn expand(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        if start > 0 && rest.as_bytes()[start - 1] == b'$' {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &rest[start + 2..start + end];
        out.push_str(&std::env::var(name).map_err(|_| name.to_string())?);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Validate `value` against `schema`; every violation as a [`Problem`] under `prefix`.
pub fn schema_problems(schema: &schemars::Schema, value: &Value, prefix: &str) -> Vec<Problem> {
    let validator = match jsonschema::validator_for(schema.as_value()) {
        Ok(v) => v,
        Err(e) => {
            return vec![Problem {
                path: display_path(prefix),
                message: format!("internal schema error: {e}"),
            }]
        }
    };
    let mut problems = Vec::new();
    for error in validator.iter_errors(value) {
        explain(&error, prefix, &mut problems);
    }
    problems.dedup();
    problems
}

/// Turn one validation error into problems a user can act on.
fn explain(e: &ValidationError<'_>, prefix: &str, out: &mut Vec<Problem>) {
    let path = dotted(prefix, &e.instance_path().to_string());
    match e.kind() {
        // Name the missing or unexpected key itself, not the object holding it.
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            out.push(Problem {
                path: join(&path, key),
                message: "required field is missing".into(),
            });
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for key in unexpected {
                out.push(Problem {
                    path: join(&path, key),
                    message: "unknown field (check its spelling; unknown fields are rejected)"
                        .into(),
                });
            }
        }
        // `Option<T>` and enums become anyOf/oneOf: report what is wrong inside the one
        // alternative the user evidently meant, or list the allowed values.
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let here = e.instance_path().to_string();
            let shallow = |b: &ValidationError<'_>| {
                b.instance_path().to_string() == here
                    && matches!(
                        b.kind(),
                        ValidationErrorKind::Type { .. }
                            | ValidationErrorKind::Constant { .. }
                            | ValidationErrorKind::Enum { .. }
                    )
            };
            let meant: Vec<_> = context
                .iter()
                .filter(|branch| !branch.iter().all(shallow))
                .collect();
            if let [branch] = meant.as_slice() {
                for inner in branch.iter() {
                    explain(inner, prefix, out);
                }
                return;
            }
            let allowed: Vec<String> = context
                .iter()
                .flatten()
                .flat_map(|b| match b.kind() {
                    ValidationErrorKind::Constant { expected_value } => {
                        vec![expected_value.to_string()]
                    }
                    ValidationErrorKind::Enum { options } => options
                        .as_array()
                        .map(|o| o.iter().map(Value::to_string).collect())
                        .unwrap_or_default(),
                    _ => vec![],
                })
                .collect();
            let message = if meant.is_empty() && !allowed.is_empty() {
                format!("{} is not one of {}", e.instance(), allowed.join(", "))
            } else {
                e.to_string()
            };
            out.push(Problem {
                path: display_path(&path),
                message,
            });
        }
        _ => out.push(Problem {
            path: display_path(&path),
            message: e.to_string(),
        }),
    }
}

/// `prefix` + a JSON pointer → `source.file.columns[2]`.
fn dotted(prefix: &str, pointer: &str) -> String {
    let mut path = prefix.to_string();
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) {
            path.push_str(&format!("[{part}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&part);
        }
    }
    path
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "<root>".into()
    } else {
        path.to_string()
    }
}

/// JSON schema of the whole pipeline config, for `fastlane connectors --schema`.
pub fn pipeline_schema() -> schemars::Schema {
    schemars::schema_for!(PipelineConfig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        parse("test", text, &Overrides::default())
            .err()
            .map(|e| e.problems)
            .unwrap_or_default()
    }

    #[test]
    fn expands_env_references_and_escapes() {
        std::env::set_var("FASTLANE_CONFIG_TEST_PW", "s3cret");
        assert_eq!(
            expand("a-${FASTLANE_CONFIG_TEST_PW}-b").unwrap(),
            "a-s3cret-b"
        );
        assert_eq!(expand("$${NOT_EXPANDED}").unwrap(), "${NOT_EXPANDED}");
        assert_eq!(
            expand("${FASTLANE_CONFIG_TEST_UNSET}").unwrap_err(),
            "FASTLANE_CONFIG_TEST_UNSET"
        );
    }

    #[test]
    fn a_valid_config_resolves_its_sections() {
        let c = parse(
            "test",
            r#"{"source":{"generate":{"rows":5}},"target":{"file":{"path":"o.csv"}},
                "transform":{"wasm":"t.wasm","concurrency":3,"config":{"a":1}}}"#,
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            (c.source_type.as_str(), c.target_type.as_str()),
            ("generate", "file")
        );
        let (t, path) = c.transform().unwrap();
        assert_eq!((t.concurrency, path), (3, Path::new("t.wasm")));
        assert_eq!(c.pipeline.max_buffered_batches, 8);
        assert_eq!(c.pipeline.replication_mode, ReplicationMode::FullTable);
    }

    #[test]
    fn paths_name_nested_problems() {
        let found = problems(
            r#"{"source":{"generate":{"rows":-1}},"target":{"file":{"path":"x","nope":1}},"transform":{"limits":{"memory_mb":"lots"}}}"#,
        );
        let paths: Vec<_> = found.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"transform.limits.memory_mb"), "{found:?}");
        let found = problems(
            r#"{"source":{"generate":{"rows":-1}},"target":{"file":{"path":"x","nope":1}}}"#,
        );
        let paths: Vec<_> = found.iter().map(|p| p.path.as_str()).collect();
        assert!(
            paths.contains(&"source.generate.rows") && paths.contains(&"target.file.nope"),
            "{found:?}"
        );
    }

    #[test]
    fn slack_without_a_webhook_names_the_key_and_the_variable() {
        let text = r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},"logs":{"error_log_to_slack":true}}"#;
        // Without the variable (restored after: other tests may read it).
        let saved = std::env::var_os(SLACK_WEBHOOK_ENV);
        std::env::remove_var(SLACK_WEBHOOK_ENV);
        let found = problems(text);
        if let Some(saved) = saved {
            std::env::set_var(SLACK_WEBHOOK_ENV, saved);
        }
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "logs.slack_webhook_url");
        assert!(found[0].message.contains(SLACK_WEBHOOK_ENV), "{found:?}");
    }

    #[test]
    fn cloudwatch_and_slack_settings_are_checked() {
        let found = problems(
            r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},
                "logs":{"log_to_cloudwatch":true,"cloudwatch_log_group":"bad:name",
                        "cloudwatch_endpoint_url":"localhost:4566",
                        "error_log_to_slack":true,"slack_webhook_url":"hooks.slack.com/x"}}"#,
        );
        let paths: Vec<_> = found.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "logs.slack_webhook_url",
                "logs.cloudwatch_log_group",
                "logs.cloudwatch_endpoint_url"
            ],
            "{found:?}"
        );
        let found = problems(
            r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},"logs":{"slack_level":"debug"}}"#,
        );
        assert_eq!(found[0].path, "logs.slack_level", "{found:?}");
        let ok = parse(
            "test",
            r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},
                "logs":{"error_log_to_slack":true,"slack_webhook_url":"https://hooks.slack.com/services/T/B/X",
                        "slack_level":"warn","log_to_cloudwatch":true,"cloudwatch_log_group":"/fastlane/orders#1"}}"#,
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(ok.pipeline.logs.slack_level, SlackLevel::Warn);
    }

    #[test]
    fn logging_flags_switch_the_sinks_on() {
        let overrides = Overrides {
            log_to_cloudwatch: true,
            error_log_to_slack: true,
            ..Overrides::default()
        };
        let c = parse(
            "test",
            r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},
                "logs":{"slack_webhook_url":"https://hooks.slack.com/services/T/B/X"}}"#,
            &overrides,
        )
        .unwrap();
        assert!(c.pipeline.logs.log_to_cloudwatch && c.pipeline.logs.error_log_to_slack);
        assert_eq!(c.document["logs"]["log_to_cloudwatch"], true);
    }
}
