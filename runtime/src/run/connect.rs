//! A run's connectors, ready to open: parsed when the config was loaded, or — for a section
//! that names an AWS Secrets Manager `secret` — once the secret is read and fills the keys the
//! section leaves out, checked again against the connector's schema.

use anyhow::anyhow;
use fastlane_connectors::{registry, secrets, ParsedSource, ParsedTarget, SecretField};

use crate::config::{schema_problems, ConfigError, Problem, ResolvedConfig};

/// The run's source section, parsed.
pub async fn source(config: &ResolvedConfig) -> anyhow::Result<ParsedSource> {
    if let Some(parsed) = &config.parsed_source {
        return Ok(parsed.clone());
    }
    let entry = registry::source_entry(&config.source_type)
        .ok_or_else(|| anyhow!("unknown source type '{}'", config.source_type))?;
    let path = format!("source.{}", config.source_type);
    let filled = with_secret(
        &config.source,
        &path,
        entry.secret_fields(),
        &entry.schema(),
    )
    .await?;
    Ok(entry.parse(&filled, config.pipeline.replication_mode)?)
}

/// The run's target section, parsed.
pub async fn target(config: &ResolvedConfig) -> anyhow::Result<ParsedTarget> {
    if let Some(parsed) = &config.parsed_target {
        return Ok(parsed.clone());
    }
    let entry = registry::target_entry(&config.target_type)
        .ok_or_else(|| anyhow!("unknown target type '{}'", config.target_type))?;
    let path = format!("target.{}", config.target_type);
    let filled = with_secret(
        &config.target,
        &path,
        entry.secret_fields(),
        &entry.schema(),
    )
    .await?;
    Ok(entry.parse(&filled, config.pipeline.replication_mode)?)
}

/// A section with the secret it names read into the keys it leaves out; the result must then
/// satisfy the connector's schema (a secret's values are never quoted).
async fn with_secret(
    section: &serde_json::Value,
    path: &str,
    fields: &[SecretField],
    schema: &schemars::Schema,
) -> anyhow::Result<serde_json::Value> {
    let Some(secret) = secrets::reference(section) else {
        return Ok(section.clone());
    };
    let (filled, from_secret) = secrets::resolve(section, path, fields, schema).await?;
    crate::config::register_secrets(schema.as_value(), &filled);
    let problems: Vec<Problem> = schema_problems(schema, &filled, path)
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
