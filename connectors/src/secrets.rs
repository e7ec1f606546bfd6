//! `secret` / `secret_region` in any source or target section (the original fastlane's keys):
//! an AWS Secrets Manager entry holding a JSON object with `host`, `port`, `username` and
//! `password` (the layout RDS uses; `dbname` too; `service_account_json` for BigQuery), whose
//! fields fill what the section leaves out. Each connector declares which of its keys a
//! secret's fields fill ([`SecretField`], in its `SECRET_FIELDS`).
//! What the section sets itself always wins.
//!
//! The runtime validates a section with [`relax_required`] (a secret may still provide the
//! required connection keys), then [`resolve`]s it before opening the connector, and validates
//! the filled section again: a key that neither the config nor the secret gives is an error
//! naming the secret, never its values.

use serde_json::{Map, Value};

use crate::{ConnectorError, Result};

/// The key naming the secret.
pub const SECRET_KEY: &str = "secret";
/// The key naming the secret's region (default: the standard AWS region chain).
pub const SECRET_REGION_KEY: &str = "secret_region";

/// A field of a secret and the config key it fills: only when the section leaves the key out,
/// and sets none of `unless` (another way of saying the same thing: a connection URL instead of
/// host and port, an InfluxDB `bucket` instead of its `database`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretField {
    /// The field in the secret's JSON object (`host`, `dbname`, …).
    pub secret: &'static str,
    /// The config key it fills (`host`, `db`, …).
    pub key: &'static str,
    /// Keys that, set in the section, mean `key` is not filled.
    pub unless: &'static [&'static str],
}

impl SecretField {
    /// Field `secret` fills key `key`.
    pub const fn new(secret: &'static str, key: &'static str) -> Self {
        Self {
            secret,
            key,
            unless: &[],
        }
    }

    /// …unless the section sets one of `keys`.
    pub const fn unless(mut self, keys: &'static [&'static str]) -> Self {
        self.unless = keys;
        self
    }
}

/// The secret a section names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    /// Name or ARN of the secret.
    pub name: String,
    /// Its region, when not the default one.
    pub region: Option<String>,
}

/// What a region name may look like: AWS's (`eu-west-1`) and the names S3-compatible stores
/// use (`auto`, `garage`); never whitespace, a slash or a control character, which the SDK
/// would put in a host name or a signature.
pub const REGION_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_-]*$";

/// `schema` (a connector's config schema) with the `secret` and `secret_region` keys added.
pub fn with_secret_keys(schema: schemars::Schema) -> schemars::Schema {
    let mut value = schema.to_value();
    if let Some(properties) = value.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            SECRET_KEY.into(),
            serde_json::json!({
                "type": "string",
                "minLength": 1,
                "description": "Name or ARN of an AWS Secrets Manager secret holding a JSON object \
                    with host, port, username and password: its fields fill the connection keys \
                    this section leaves out."
            }),
        );
        properties.insert(
            SECRET_REGION_KEY.into(),
            serde_json::json!({
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": REGION_PATTERN,
                "description": "Region of `secret` (default: AWS_REGION or the profile's)."
            }),
        );
    }
    schemars::Schema::try_from(value).unwrap_or_else(|_| schemars::Schema::default())
}

/// `schema` without the required keys a secret could provide (`fields`): how a section that
/// names a secret is checked before the secret is read.
pub fn relax_required(schema: schemars::Schema, fields: &[SecretField]) -> schemars::Schema {
    let mut value = schema.to_value();
    if let Some(required) = value.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|key| !fields.iter().any(|f| Some(f.key) == key.as_str()));
    }
    schemars::Schema::try_from(value).unwrap_or_else(|_| schemars::Schema::default())
}

/// The secret `section` names, if any.
pub fn reference(section: &Value) -> Option<SecretRef> {
    let name = section.get(SECRET_KEY)?.as_str()?.to_string();
    let region = section
        .get(SECRET_REGION_KEY)
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(SecretRef { name, region })
}

/// `section` without the `secret` keys (what the connector itself parses).
pub fn without_reference(section: &Value) -> Value {
    let mut section = section.clone();
    if let Some(map) = section.as_object_mut() {
        map.remove(SECRET_KEY);
        map.remove(SECRET_REGION_KEY);
    }
    section
}

/// The section ready for its connector: without the `secret` keys and, when it names a secret,
/// with the secret's fields filling the keys it leaves out (`fields`, the connector's; `schema`
/// gives each key's type). `path` is the section's config path (`source.mysql`).
/// Also returns the keys the secret filled (whose values must never be shown).
pub async fn resolve(
    section: &Value,
    path: &str,
    fields: &[SecretField],
    schema: &schemars::Schema,
) -> Result<(Value, Vec<String>)> {
    let Some(secret) = reference(section) else {
        return Ok((without_reference(section), Vec::new()));
    };
    let values = fetch(&secret, path).await?;
    let mut filled = without_reference(section);
    let keys = fill(&mut filled, &values, fields, schema);
    Ok((filled, keys))
}

/// Copy the secret's `values` into the keys `section` leaves out, as the connector's `fields`
/// say; returns the keys filled. A section naming its password's environment variable
/// (`password_env`) keeps it: the secret's password does not override that choice.
pub fn fill(
    section: &mut Value,
    values: &Map<String, Value>,
    fields: &[SecretField],
    schema: &schemars::Schema,
) -> Vec<String> {
    let mut filled = Vec::new();
    let properties = schema
        .as_value()
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(target) = section.as_object_mut() else {
        return filled;
    };
    let password_from_env = target.get("password_env").is_some_and(|v| !v.is_null());
    for field in fields {
        if field.key == "password" && password_from_env {
            continue;
        }
        let Some(value) = values.get(field.secret).filter(|v| !v.is_null()) else {
            continue;
        };
        let set = |k: &str| target.get(k).is_some_and(|v| !v.is_null());
        if set(field.key) || field.unless.iter().any(|k| set(k)) {
            continue;
        }
        let property = properties.get(field.key).unwrap_or(&Value::Null);
        target.insert(field.key.to_string(), typed(value, property));
        filled.push(field.key.to_string());
    }
    filled
}

/// A secret's value in the type the schema wants: secrets often hold the port as a string.
fn typed(value: &Value, property: &Value) -> Value {
    let wants = |name: &str| match property.get("type") {
        Some(Value::String(t)) => t == name,
        Some(Value::Array(types)) => types.iter().any(|t| t == name),
        _ => false,
    };
    match value {
        Value::String(s) if wants("integer") && !wants("string") => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| value.clone()),
        Value::Number(n) if wants("string") && !wants("integer") => Value::String(n.to_string()),
        // A key file stored as a JSON object where the section takes it as a string.
        Value::Object(_) if wants("string") && !wants("object") => Value::String(value.to_string()),
        _ => value.clone(),
    }
}

/// The secret's JSON object. Errors name the secret and the section, never the secret's content.
#[cfg(feature = "secrets")]
pub async fn fetch(secret: &SecretRef, path: &str) -> Result<Map<String, Value>> {
    let named = format!(
        "{path}.{SECRET_KEY}: secret '{}'{}",
        secret.name,
        secret
            .region
            .as_deref()
            .map(|r| format!(" (region {r})"))
            .unwrap_or_default()
    );
    let section = format!("{path}.{SECRET_REGION_KEY}");
    let sdk = crate::aws::Connection {
        service: "SECRETS_MANAGER",
        section: &section,
        region: secret.region.as_deref(),
        ..Default::default()
    }
    .sdk_config()
    .await
    .map_err(|e| ConnectorError::Other(format!("{named}: {e}")))?;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let answer = client
        .get_secret_value()
        .secret_id(&secret.name)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                ConnectorError::Other(format!(
                    "{named} does not exist (or is not visible with these credentials)"
                ))
            } else {
                crate::aws::call_failed(format!("{named}: reading it failed"), &e)
            }
        })?;
    let text = answer.secret_string().ok_or_else(|| {
        ConnectorError::Other(format!("{named} holds binary data, not a JSON object"))
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(ConnectorError::Other(format!(
            "{named} is not a JSON object (expected host, port, username, password)"
        ))),
    }
}

/// Without Secrets Manager support in this build, a `secret` is an error.
#[cfg(not(feature = "secrets"))]
pub async fn fetch(secret: &SecretRef, path: &str) -> Result<Map<String, Value>> {
    Err(ConnectorError::config(
        format!("{path}.{SECRET_KEY}"),
        format!(
            "secret '{}': this build has no AWS Secrets Manager support (feature `secrets`)",
            secret.name
        ),
    ))
}

#[cfg(all(test, feature = "mysql", feature = "influxdb", feature = "bigquery"))]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> schemars::Schema {
        schemars::Schema::try_from(json!({
            "type": "object",
            "properties": {
                "host": { "type": "string" },
                "port": { "type": "integer" },
                "username": { "type": "string" },
                "password": { "type": ["string", "null"] },
                "db": { "type": "string" },
                "table": { "type": "string" }
            },
            "required": ["host", "username", "db", "table"],
            "additionalProperties": false
        }))
        .unwrap()
    }

    #[test]
    fn secret_fields_fill_only_what_the_config_leaves_out() {
        let mut section = json!({ "host": "db.internal", "table": "t", "password": null });
        let fields = json!({
            "host": "ignored", "port": "3307", "username": "app", "password": "s3cret",
            "dbname": "shop", "engine": "mysql"
        });
        let filled = fill(
            &mut section,
            fields.as_object().unwrap(),
            crate::mysql::SECRET_FIELDS,
            &schema(),
        );
        assert_eq!(filled, ["port", "username", "password", "db"]);
        assert_eq!(
            section,
            json!({
                "host": "db.internal", "port": 3307, "username": "app", "password": "s3cret",
                "db": "shop", "table": "t"
            })
        );
    }

    #[test]
    fn a_numeric_password_becomes_text_and_password_env_keeps_its_choice() {
        let fields = json!({ "password": 12345678, "username": "app" });
        let mysql = crate::mysql::SECRET_FIELDS;
        let mut section = json!({ "host": "h" });
        fill(&mut section, fields.as_object().unwrap(), mysql, &schema());
        assert_eq!(section["password"], json!("12345678"));
        let mut section = json!({ "host": "h", "password_env": "DB_PW" });
        let filled = fill(&mut section, fields.as_object().unwrap(), mysql, &schema());
        assert_eq!(filled, ["username"]);
        assert!(section.get("password").is_none());
    }

    #[test]
    fn a_secret_does_not_fill_what_the_section_says_another_way() {
        let schema = schemars::Schema::try_from(json!({
            "type": "object",
            "properties": {
                "url": { "type": "string" }, "host": { "type": "string" },
                "port": { "type": "integer" }, "user": { "type": "string" },
                "database": { "type": "string" }, "bucket": { "type": "string" }
            }
        }))
        .unwrap();
        let fields = json!({ "host": "h", "port": 8086, "user": "w", "dbname": "d" });
        let mut section = json!({ "url": "http://influx:8086", "bucket": "b" });
        let influx = <crate::influxdb::Config as crate::ConnectorConfig>::SECRET_FIELDS;
        let filled = fill(&mut section, fields.as_object().unwrap(), influx, &schema);
        assert_eq!(filled, ["user"]);
        assert_eq!(
            section,
            json!({ "url": "http://influx:8086", "bucket": "b", "user": "w" })
        );
    }

    #[test]
    fn a_service_account_key_fills_its_key_as_text_even_when_stored_as_an_object() {
        let schema = schemars::Schema::try_from(json!({
            "type": "object",
            "properties": { "service_account_json": { "type": ["string", "null"] } }
        }))
        .unwrap();
        let key = json!({ "type": "service_account", "client_email": "etl@p.iam" });
        let fields = json!({ "service_account_json": key.clone(), "host": "unused" });
        let mut section = json!({});
        let bigquery = <crate::bigquery::Config as crate::ConnectorConfig>::SECRET_FIELDS;
        let filled = fill(&mut section, fields.as_object().unwrap(), bigquery, &schema);
        assert_eq!(filled, ["service_account_json"]);
        let text = section["service_account_json"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), key);
    }

    #[test]
    fn the_schema_gains_the_secret_keys_and_loses_what_a_secret_provides() {
        let with = with_secret_keys(schema());
        assert!(with.as_value()["properties"]["secret"].is_object());
        let relaxed = relax_required(with, crate::mysql::SECRET_FIELDS);
        assert_eq!(relaxed.as_value()["required"], json!(["table"]));
        let section = json!({ "secret": "prod/db", "secret_region": "eu-west-1", "table": "t" });
        assert_eq!(
            reference(&section),
            Some(SecretRef {
                name: "prod/db".into(),
                region: Some("eu-west-1".into())
            })
        );
        assert_eq!(without_reference(&section), json!({ "table": "t" }));
    }
}
