//! The table of connectors: `--source`/`--target` names → their types. Adding a connector is
//! its module and one line in [`SOURCES`] or [`TARGETS`] (see `connectors/README.md`).
//!
//! A section is parsed into its connector's config once ([`SourceEntry::parse`]), checked, and
//! kept typed until the run opens it ([`ParsedSource::open`]).

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::secrets::{self, SecretField};
use crate::{
    section, ConnectorError, ReplicationMode, Result, Source, SourceConnector, SourceContext,
    Target, TargetConnector, TargetContext,
};

/// A boxed future returned by the erased entries.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A registered source type, whatever its config type.
pub trait SourceEntry: Send + Sync {
    /// The name in `--source` and the key of its section.
    fn name(&self) -> &'static str;
    /// One line for `fastlane connectors`.
    fn description(&self) -> &'static str;
    /// The config schema users write against: the connector's own, plus the `secret` keys.
    fn schema(&self) -> schemars::Schema;
    /// The connection keys a `secret` may fill.
    fn secret_fields(&self) -> &'static [SecretField];
    /// Parse `section` into the connector's config and check it for `mode`, without
    /// connecting. Errors name the key (`source.mysql.port`).
    fn parse(&'static self, section: &Value, mode: ReplicationMode) -> Result<ParsedSource>;
    /// Open a config this entry parsed.
    fn open<'a>(
        &'a self,
        config: &'a (dyn Any + Send + Sync),
        context: SourceContext,
    ) -> BoxFuture<'a, Result<Box<dyn Source>>>;
}

/// A registered target type, whatever its config type.
pub trait TargetEntry: Send + Sync {
    /// The name in `--target` and the key of its section.
    fn name(&self) -> &'static str;
    /// One line for `fastlane connectors`.
    fn description(&self) -> &'static str;
    /// The config schema users write against: the connector's own, plus the `secret` keys.
    fn schema(&self) -> schemars::Schema;
    /// The connection keys a `secret` may fill.
    fn secret_fields(&self) -> &'static [SecretField];
    /// Parse `section` into the connector's config and check it for `mode`, without
    /// connecting. Errors name the key (`target.mysql.table`).
    fn parse(&'static self, section: &Value, mode: ReplicationMode) -> Result<ParsedTarget>;
    /// The target id of a section from the config alone: the connector's own when the section
    /// parses, else one made of the type, the secret and the table (a section whose connection
    /// keys a secret gives cannot be parsed before the secret is read).
    fn target_id(&self, section: &Value) -> String;
    /// Open a config this entry parsed.
    fn open<'a>(
        &'a self,
        config: &'a (dyn Any + Send + Sync),
        context: TargetContext,
    ) -> BoxFuture<'a, Result<Box<dyn Target>>>;
}

/// A source section parsed into its connector's config, ready to open.
#[derive(Clone)]
pub struct ParsedSource {
    entry: &'static dyn SourceEntry,
    config: Arc<dyn Any + Send + Sync>,
}

impl ParsedSource {
    /// The connector type.
    pub fn name(&self) -> &'static str {
        self.entry.name()
    }
    /// Connect and open the source.
    pub async fn open(&self, context: SourceContext) -> Result<Box<dyn Source>> {
        self.entry.open(self.config.as_ref(), context).await
    }
}

/// A target section parsed into its connector's config, ready to open.
#[derive(Clone)]
pub struct ParsedTarget {
    entry: &'static dyn TargetEntry,
    config: Arc<dyn Any + Send + Sync>,
    target_id: String,
}

impl ParsedTarget {
    /// The connector type.
    pub fn name(&self) -> &'static str {
        self.entry.name()
    }
    /// The target's id.
    pub fn target_id(&self) -> &str {
        &self.target_id
    }
    /// Connect and open the target.
    pub async fn open(&self, context: TargetContext) -> Result<Box<dyn Target>> {
        self.entry.open(self.config.as_ref(), context).await
    }
}

/// The erased entry of connector `C`.
pub struct Registered<C>(PhantomData<fn() -> C>);

impl<C> Registered<C> {
    /// The entry (for the lists below).
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<C> Default for Registered<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: SourceConnector> SourceEntry for Registered<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn description(&self) -> &'static str {
        C::DESCRIPTION
    }
    fn schema(&self) -> schemars::Schema {
        secrets::with_secret_keys(schemars::schema_for!(C::Config))
    }
    fn secret_fields(&self) -> &'static [SecretField] {
        C::SECRET_FIELDS
    }
    fn parse(&'static self, section: &Value, mode: ReplicationMode) -> Result<ParsedSource> {
        let config: C::Config = section::parse(
            secrets::without_reference(section),
            &path("source", C::NAME),
        )?;
        C::check(&config, mode)?;
        Ok(ParsedSource {
            entry: self,
            config: Arc::new(config),
        })
    }
    fn open<'a>(
        &'a self,
        config: &'a (dyn Any + Send + Sync),
        context: SourceContext,
    ) -> BoxFuture<'a, Result<Box<dyn Source>>> {
        Box::pin(async move { C::open(typed::<C::Config>(config, C::NAME)?, context).await })
    }
}

impl<C: TargetConnector> TargetEntry for Registered<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn description(&self) -> &'static str {
        C::DESCRIPTION
    }
    fn schema(&self) -> schemars::Schema {
        secrets::with_secret_keys(schemars::schema_for!(C::Config))
    }
    fn secret_fields(&self) -> &'static [SecretField] {
        C::SECRET_FIELDS
    }
    fn parse(&'static self, section: &Value, mode: ReplicationMode) -> Result<ParsedTarget> {
        let config: C::Config = section::parse(
            secrets::without_reference(section),
            &path("target", C::NAME),
        )?;
        C::check(&config, mode)?;
        Ok(ParsedTarget {
            entry: self,
            target_id: C::target_id(&config),
            config: Arc::new(config),
        })
    }
    fn target_id(&self, section: &Value) -> String {
        let parsed: Result<C::Config> = section::parse(
            secrets::without_reference(section),
            &path("target", C::NAME),
        );
        match parsed {
            Ok(config) => C::target_id(&config),
            Err(_) => {
                let mut id = C::NAME.to_string();
                if let Some(secret) = secrets::reference(section) {
                    id = format!("{id}@{}", secret.name);
                }
                if let Some(table) = section.get("table").and_then(Value::as_str) {
                    id = format!("{id}/{table}");
                }
                id
            }
        }
    }
    fn open<'a>(
        &'a self,
        config: &'a (dyn Any + Send + Sync),
        context: TargetContext,
    ) -> BoxFuture<'a, Result<Box<dyn Target>>> {
        Box::pin(async move { C::open(typed::<C::Config>(config, C::NAME)?, context).await })
    }
}

fn path(kind: &str, name: &str) -> String {
    format!("{kind}.{name}")
}

/// The typed config behind an erased one (always `C::Config`: an entry opens only what it
/// parsed).
fn typed<T: Clone + 'static>(config: &(dyn Any + Send + Sync), name: &str) -> Result<T> {
    config.downcast_ref::<T>().cloned().ok_or_else(|| {
        crate::ConnectorError::Other(format!(
            "internal error: a config of another connector was given to `{name}`"
        ))
    })
}

/// Every source compiled into this build.
pub static SOURCES: &[&dyn SourceEntry] = &[
    #[cfg(feature = "bigquery")]
    &Registered::<crate::bigquery::BigQuerySource>::new(),
    #[cfg(feature = "file")]
    &Registered::<crate::file::FileSource>::new(),
    #[cfg(feature = "generate")]
    &Registered::<crate::generate::GenerateSource>::new(),
    #[cfg(feature = "mongodb")]
    &Registered::<crate::mongodb::MongoSource>::new(),
    #[cfg(feature = "mysql")]
    &Registered::<crate::mysql::MySqlSource>::new(),
];

/// Every target compiled into this build.
pub static TARGETS: &[&dyn TargetEntry] = &[
    #[cfg(feature = "file")]
    &Registered::<crate::file::FileTarget>::new(),
    #[cfg(feature = "firehose")]
    &Registered::<crate::firehose::FirehoseTarget>::new(),
    #[cfg(feature = "influxdb")]
    &Registered::<crate::influxdb::InfluxTarget>::new(),
    #[cfg(feature = "mysql")]
    &Registered::<crate::mysql::MySqlTarget>::new(),
    #[cfg(feature = "s3")]
    &Registered::<crate::s3::S3Target>::new(),
];

/// The source registered under `name`.
pub fn source_entry(name: &str) -> Option<&'static dyn SourceEntry> {
    SOURCES.iter().copied().find(|e| e.name() == name)
}

/// The target registered under `name`.
pub fn target_entry(name: &str) -> Option<&'static dyn TargetEntry> {
    TARGETS.iter().copied().find(|e| e.name() == name)
}

/// Open source `name` from its JSON section as a run does: parsed, checked, opened.
pub async fn open_source(
    name: &str,
    section: &Value,
    context: SourceContext,
) -> Result<Box<dyn Source>> {
    let entry = source_entry(name)
        .ok_or_else(|| ConnectorError::config("source", format!("unknown source type '{name}'")))?;
    entry
        .parse(section, context.replication_mode)?
        .open(context)
        .await
}

/// Open target `name` from its JSON section as a run does: parsed, checked, opened.
pub async fn open_target(
    name: &str,
    section: &Value,
    context: TargetContext,
) -> Result<Box<dyn Target>> {
    let entry = target_entry(name)
        .ok_or_else(|| ConnectorError::config("target", format!("unknown target type '{name}'")))?;
    entry
        .parse(section, context.replication_mode)?
        .open(context)
        .await
}
