//! Everything `run` and `validate` do before data moves: load and check the transform, open the
//! connectors.

use anyhow::{anyhow, Context};
use fastlane_connectors::{
    registry, secrets, Destination, Offset, Source, SourceContext, TargetContext,
};

use crate::config::{schema_problems, ConfigError, Problem, ResolvedConfig};
use crate::pipeline::TransformStage;
use crate::wasm::{TransformError, TransformInfo, TransformRuntime};

/// A transform ready to run: its description and one initialised instance per worker.
pub(crate) struct PreparedTransform {
    pub(crate) info: TransformInfo,
    pub(crate) stage: TransformStage,
    pub(crate) digest: String,
    pub(crate) from_cache: bool,
}

/// Compile (or load from the cache) the configured component, check it implements the contract,
/// validate its config against its `describe` schema and initialise `workers` instances.
pub(crate) fn transform(
    config: &ResolvedConfig,
    cache_dir: Option<std::path::PathBuf>,
) -> anyhow::Result<Option<PreparedTransform>> {
    let Some((section, path)) = config.transform() else {
        return Ok(None);
    };
    let workers = section.concurrency.max(1);
    let runtime = TransformRuntime::new(workers, &section.limits, cache_dir)?;
    let component = runtime.load(path, section.limits.clone())?;
    let mut first = component.instantiate()?;
    let info = first.describe()?;
    first.set_name(&info.name);
    let problems = config_problems(&info, &section.config);
    if !problems.is_empty() {
        return Err(ConfigError {
            origin: format!("for transform '{}'", info.name),
            problems,
        }
        .into());
    }
    let config_json = section.config.to_string();
    first.init(&config_json).map_err(refused_config)?;
    let mut instances = vec![first];
    for _ in 1..workers {
        let mut instance = component.instantiate()?;
        instance.set_name(&info.name);
        instance.init(&config_json)?;
        instances.push(instance);
    }
    Ok(Some(PreparedTransform {
        stage: TransformStage {
            name: info.name.clone(),
            instances,
            config: config_json,
        },
        info,
        digest: component.digest().to_string(),
        from_cache: component.from_cache(),
    }))
}

/// A transform's `init` refusing its config is a config error naming the transform and, when
/// the guest names it (`method: unknown variant …`, as the SDKs do), the key.
fn refused_config(e: TransformError) -> anyhow::Error {
    match e {
        TransformError::Guest {
            transform,
            kind: "invalid-config",
            message,
            ..
        } => {
            let (path, message) = match message.split_once(": ") {
                Some((key, rest))
                    if !key.is_empty()
                        && key.chars().all(|c| {
                            c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']')
                        }) =>
                {
                    (format!("transform.config.{key}"), rest.to_string())
                }
                _ => ("transform.config".to_string(), message),
            };
            ConfigError {
                origin: format!("for transform '{transform}' (it refused its config)"),
                problems: vec![Problem { path, message }],
            }
            .into()
        }
        other => other.into(),
    }
}

/// The problems of `config` against the schema the transform's `describe` returned.
pub(crate) fn config_problems(info: &TransformInfo, config: &serde_json::Value) -> Vec<Problem> {
    match serde_json::from_value::<schemars::Schema>(info.config_schema.clone()) {
        Ok(schema) => schema_problems(&schema, config, "transform.config"),
        Err(e) => vec![Problem {
            path: "transform.config".into(),
            message: format!("the transform's describe() returned an unusable schema: {e}"),
        }],
    }
}

/// Open the configured destination.
pub(crate) async fn destination(
    config: &ResolvedConfig,
    run_id: &str,
) -> anyhow::Result<Box<dyn Destination>> {
    let entry = registry::target_entry(&config.target_type)
        .ok_or_else(|| anyhow!("unknown target type '{}'", config.target_type))?;
    let ctx = TargetContext {
        replication_mode: config.pipeline.replication_mode,
        run_id: run_id.to_string(),
    };
    let section = with_secret(
        &config.target,
        "target",
        &config.target_type,
        &entry.schema(),
    )
    .await?;
    (entry.open)(section, ctx)
        .await
        .with_context(|| format!("target {}", config.target_type))
}

/// Open the configured source, resuming after `resume_after` for INCREMENTAL runs.
pub(crate) async fn source(
    config: &ResolvedConfig,
    resume_after: Option<Offset>,
) -> anyhow::Result<Box<dyn Source>> {
    let entry = registry::source_entry(&config.source_type)
        .ok_or_else(|| anyhow!("unknown source type '{}'", config.source_type))?;
    let ctx = SourceContext {
        replication_mode: config.pipeline.replication_mode,
        resume_after,
    };
    let section = with_secret(
        &config.source,
        "source",
        &config.source_type,
        &entry.schema(),
    )
    .await?;
    (entry.open)(section, ctx)
        .await
        .with_context(|| format!("source {}", config.source_type))
}

/// A connector's section ready to open: a secret it names is read and fills the connection
/// keys the section leaves out, and the result must then satisfy the connector's schema.
async fn with_secret(
    section: &serde_json::Value,
    kind: &str,
    name: &str,
    schema: &schemars::Schema,
) -> anyhow::Result<serde_json::Value> {
    let path = format!("{kind}.{name}");
    let Some(secret) = secrets::reference(section) else {
        return Ok(section.clone());
    };
    let (filled, from_secret) = secrets::resolve(section, &path, schema).await?;
    crate::config::register_secrets(schema.as_value(), &filled);
    let problems: Vec<Problem> = schema_problems(schema, &filled, &path)
        .into_iter()
        .map(|mut p| {
            let key = p.path.strip_prefix(&format!("{path}.")).unwrap_or_default();
            if from_secret.iter().any(|k| k == key) {
                // The message would quote the value: a secret's values are never shown.
                p.message = format!(
                    "the value secret '{}' gives for it is not acceptable (wrong type or range)",
                    secret.name
                );
            } else if p.message == "required field is missing" {
                p.message = format!(
                    "{} (neither the config nor secret '{}' gives it)",
                    p.message, secret.name
                );
            }
            p
        })
        .collect();
    if problems.is_empty() {
        Ok(filled)
    } else {
        Err(ConfigError {
            origin: format!("{path} with secret '{}'", secret.name),
            problems,
        }
        .into())
    }
}
