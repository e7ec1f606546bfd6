//! The pipeline config: the original fastlane's JSON layout, parsed, `${ENV}`-resolved and
//! validated as a whole (every problem reported at once with its JSON path) before anything
//! connects.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

mod env;
mod logs;
mod original;
mod schema;
mod secrets;
#[cfg(test)]
mod tests;

use fastlane_connectors::{registry, ParsedSource, ParsedTarget, ReplicationMode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use logs::{
    check_log_group_name, check_webhook_url, is_log_group_char, LogsConfig, SlackLevel,
    MAX_LOG_GROUP_CHARS, SLACK_WEBHOOK_ENV,
};
pub use original::{original_layout, SsmConfig};
pub use schema::{pipeline_schema, schema_problems};
pub(crate) use secrets::register_secrets;

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
    /// The original fastlane's AWS settings: `region` is the region of every `secret` whose
    /// section sets no `secret_region` of its own.
    #[serde(default)]
    pub ssm: Option<SsmConfig>,
}

/// The log file of `--logs-to-file` given no path, when the config names none.
pub const DEFAULT_LOG_FILE: &str = "fastlane.log";

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
    /// `--logs-to-file PATH`.
    pub log_file: Option<PathBuf>,
    /// `--logs-to-file` (with or without a path): with none, the config's `logs.log_file`,
    /// else [`DEFAULT_LOG_FILE`].
    pub log_to_file: bool,
    /// `--logs-to-cloudwatch`: sets `logs.log_to_cloudwatch` (a flag cannot turn it off).
    pub log_to_cloudwatch: bool,
    /// `--logs-to-slack`: sets `logs.error_log_to_slack` (a flag cannot turn it off).
    pub error_log_to_slack: bool,
    /// `--replication-mode`.
    pub replication_mode: Option<ReplicationMode>,
    /// `--transform default` (the original's identity transform): no component, whatever
    /// `transform.wasm` says.
    pub no_transform: bool,
    /// The command line is the original fastlane's (no verb, or `--transform default`): the
    /// config is read in the original's layout (see [`original_layout`]).
    pub original_cli: bool,
}

/// A config that passed validation, with the chosen connectors.
#[derive(Clone)]
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
    /// The source section parsed into its connector's config and checked (`None` when it
    /// names a secret: it is parsed once the run reads the secret).
    pub parsed_source: Option<ParsedSource>,
    /// The target section parsed into its connector's config and checked (`None` when it
    /// names a secret).
    pub parsed_target: Option<ParsedTarget>,
    /// Why the config is read in the original fastlane's layout, when it is (see
    /// [`original_layout`]).
    pub original_layout: Option<&'static str>,
}

impl std::fmt::Debug for ResolvedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedConfig")
            .field("source_type", &self.source_type)
            .field("target_type", &self.target_type)
            .finish_non_exhaustive()
    }
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
                secrets::redact_write_only(schema.as_value(), section);
            }
        }
        fastlane_wire::redact::redact_config(&document)
    }

    /// The target's id (`db.table`, a path): the connector's own, or, for a section whose
    /// connection keys a secret gives, one made of its type, the secret and its table.
    pub fn target_id(&self) -> String {
        let id = match (
            &self.parsed_target,
            registry::target_entry(&self.target_type),
        ) {
            (Some(parsed), _) => parsed.target_id().to_string(),
            (None, Some(entry)) => entry.target_id(&self.target),
            (None, None) => self.target_type.clone(),
        };
        let max = fastlane_wire::model::MAX_TARGET_ID_CHARS;
        match id.char_indices().nth(max) {
            Some((cut, _)) => id[..cut].to_string(),
            None => id,
        }
    }

    /// Whether every batch gets `_op_type` and `_op_timestamp` columns.
    pub fn add_op_fields(&self) -> bool {
        self.pipeline
            .transform
            .as_ref()
            .is_some_and(|t| t.add_op_fields)
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
    env::resolve_env(&mut doc, &mut String::new(), &mut problems);
    apply_overrides(&mut doc, overrides);
    if let Some(root) = doc.as_object_mut() {
        original::apply_ssm_region(root);
    }
    let original = original_layout(&doc, overrides);
    original::apply_original_layout(&mut doc, original.is_some());
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
        |n| registry::source_entry(n).map(|e| (e.schema(), e.secret_fields())),
        registry::SOURCES.iter().map(|e| e.name()),
    );
    let target = choose(
        &doc,
        "target",
        overrides.target.as_deref(),
        &mut problems,
        |n| registry::target_entry(n).map(|e| (e.schema(), e.secret_fields())),
        registry::TARGETS.iter().map(|e| e.name()),
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
    logs::check_logs(&pipeline.logs, &mut problems);
    // Each section is parsed into its connector's config once, here, and gets the checks the
    // connector makes before connecting: `validate` and `run` refuse the same configs. A
    // section naming a secret is parsed once the run reads the secret.
    let mode = pipeline.replication_mode;
    let parsed_source = source.as_ref().and_then(|(name, section)| {
        let entry = registry::source_entry(name)?;
        parse_section(
            |s| entry.parse(s, mode),
            "source",
            name,
            section,
            &mut problems,
        )
    });
    let parsed_target = target.as_ref().and_then(|(name, section)| {
        let entry = registry::target_entry(name)?;
        parse_section(
            |s| entry.parse(s, mode),
            "target",
            name,
            section,
            &mut problems,
        )
    });
    if let Some(url) = pipeline.logs.slack_webhook() {
        fastlane_wire::redact::register_secret(&url);
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
                parsed_source,
                parsed_target,
                original_layout: original,
            })
        }
        _ => Err(fail(problems)),
    }
}

/// Pick the section `kind` (source/target) named by the flag, or the only one present, and
/// validate it against its connector's schema.
fn choose(
    doc: &Value,
    kind: &str,
    flag: Option<&str>,
    problems: &mut Vec<Problem>,
    schema_of: impl Fn(
        &str,
    ) -> Option<(
        schemars::Schema,
        &'static [fastlane_connectors::SecretField],
    )>,
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
    let Some((schema, secret_fields)) = schema_of(&name) else {
        let known: Vec<_> = known.collect();
        let all = match kind {
            "source" => registry::ALL_SOURCES,
            _ => registry::ALL_TARGETS,
        };
        let message = if all.contains(&name.as_str()) {
            format!(
                "this fastlane was built without the `{name}` {kind} (the demo builds only {}); \
                 build every connector with `cargo build --release --bin fastlane`",
                known.join(", ")
            )
        } else {
            format!(
                "unknown {kind} type '{name}' (available: {})",
                known.join(", ")
            )
        };
        problems.push(Problem { path, message });
        return None;
    };
    let given = sections.get(&name);
    let section = given.cloned().unwrap_or_else(empty_object);
    // A secret read later may still give the connection keys: only the rest is required now.
    let schema = match fastlane_connectors::secrets::reference(&section) {
        Some(_) => fastlane_connectors::secrets::relax_required(schema, secret_fields),
        None => schema,
    };
    let mut found = schema_problems(&schema, &section, &path);
    // `--target s3` and no `s3` section: say so, not which of its keys are missing (a
    // connector that needs no key, such as `generate`, runs on its defaults).
    if given.is_none() && !found.is_empty() {
        let have: Vec<_> = sections.keys().map(|k| format!("`{k}`")).collect();
        found = vec![Problem {
            path,
            message: format!(
                "--{kind} {name} needs a `{name}` section in `{kind}`, and the config has {}",
                if have.is_empty() {
                    format!("no `{kind}` section")
                } else {
                    format!("only {}", have.join(", "))
                }
            ),
        }];
    }
    let ok = found.is_empty();
    problems.extend(found);
    ok.then_some((name, section))
}

/// A section parsed by its connector (`parse`), or the problem the connector finds in it;
/// `None` as well for a section whose connection keys come from a secret not read yet.
fn parse_section<P>(
    parse: impl FnOnce(&Value) -> fastlane_connectors::Result<P>,
    kind: &str,
    name: &str,
    section: &Value,
    problems: &mut Vec<Problem>,
) -> Option<P> {
    if fastlane_connectors::secrets::reference(section).is_some() {
        return None;
    }
    match parse(section) {
        Ok(parsed) => Some(parsed),
        Err(fastlane_connectors::ConnectorError::Config { path, message }) => {
            problems.push(Problem { path, message });
            None
        }
        Err(other) => {
            problems.push(Problem {
                path: format!("{kind}.{name}"),
                message: other.to_string(),
            });
            None
        }
    }
}

/// The object at `root[key]`, made an empty one when absent or null (`None` when it is
/// something else: the schema check reports that).
fn section_at<'a>(
    root: &'a mut serde_json::Map<String, Value>,
    key: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let section = root.entry(key).or_insert_with(empty_object);
    if section.is_null() {
        *section = empty_object();
    }
    section.as_object_mut()
}

fn apply_overrides(doc: &mut Value, o: &Overrides) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    if o.no_transform {
        if let Some(t) = root.get_mut("transform").and_then(Value::as_object_mut) {
            t.remove("wasm");
        }
    }
    let transform_touched =
        o.transform.is_some() || o.transform_workers.is_some() || o.transform_config.is_some();
    if let Some(t) = transform_touched
        .then(|| section_at(root, "transform"))
        .flatten()
    {
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
    let logs_touched =
        o.log_file.is_some() || o.log_to_file || o.log_to_cloudwatch || o.error_log_to_slack;
    if let Some(logs) = logs_touched.then(|| section_at(root, "logs")).flatten() {
        if let Some(file) = &o.log_file {
            logs.insert("log_file".into(), Value::String(file.display().to_string()));
        } else if o.log_to_file {
            // `--logs-to-file` with no path: the file the config names, else `fastlane.log`.
            logs.entry("log_file")
                .or_insert_with(|| Value::String(DEFAULT_LOG_FILE.into()));
        }
        if o.log_to_cloudwatch {
            logs.insert("log_to_cloudwatch".into(), Value::Bool(true));
        }
        if o.error_log_to_slack {
            logs.insert("error_log_to_slack".into(), Value::Bool(true));
        }
    }
    if let Some(mode) = o.replication_mode {
        if let Ok(v) = serde_json::to_value(mode) {
            root.insert("replication_mode".into(), v);
        }
    }
}
