//! The transform stage of a run, made ready before any data moves: the component read,
//! compiled (or loaded from the cache), checked against the contract, its config checked
//! against the schema its `describe` gives, and one initialised instance per worker.

use crate::config::{schema_problems, ConfigError, Problem, ResolvedConfig};
use crate::pipeline::TransformStage;
use crate::wasm::{TransformError, TransformInfo, TransformRuntime};

/// A transform ready to run: its description and one initialised instance per worker.
pub struct PreparedTransform {
    /// What `describe` says.
    pub info: TransformInfo,
    /// The instances, one per worker.
    pub stage: TransformStage,
    /// SHA-256 of the component (hex).
    pub digest: String,
    /// Whether the compiled code came from the on-disk cache.
    pub from_cache: bool,
}

/// Compile (or load from the cache) the configured component, check it implements the contract,
/// validate its config against its `describe` schema and initialise `workers` instances.
pub fn prepare(
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
pub fn config_problems(info: &TransformInfo, config: &serde_json::Value) -> Vec<Problem> {
    match serde_json::from_value::<schemars::Schema>(info.config_schema.clone()) {
        Ok(schema) => schema_problems(&schema, config, "transform.config"),
        Err(e) => vec![Problem {
            path: "transform.config".into(),
            message: format!("the transform's describe() returned an unusable schema: {e}"),
        }],
    }
}

impl PreparedTransform {
    /// What observers hear of it.
    pub fn ready(&self) -> super::events::TransformReady {
        super::events::TransformReady {
            name: self.info.name.clone(),
            version: self.info.version.clone(),
            digest: self.digest.clone(),
            cached: self.from_cache,
            workers: self.stage.instances.len(),
        }
    }
}
