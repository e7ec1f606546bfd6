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
    section, ConnectorConfig, ConnectorError, ReplicationMode, Result, Source, SourceConnector,
    SourceContext, Target, TargetConnector, TargetContext,
};

/// A boxed future returned by the erased entries.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What `fastlane connectors` and the config checks know of a registered connector.
pub struct About {
    /// The name in `--source`/`--target` and the key of its section.
    pub name: &'static str,
    /// One line for `fastlane connectors`.
    pub description: &'static str,
    /// The connection keys a `secret` may fill.
    pub secret_fields: &'static [SecretField],
    schema: fn() -> schemars::Schema,
}

impl About {
    const fn of<T: ConnectorConfig>(name: &'static str) -> Self {
        Self {
            name,
            description: T::DESCRIPTION,
            secret_fields: T::SECRET_FIELDS,
            schema: schema_of::<T>,
        }
    }
}

/// The config schema users write against: the connector's own, plus the `secret` keys.
fn schema_of<T: ConnectorConfig>() -> schemars::Schema {
    secrets::with_secret_keys(schemars::schema_for!(T))
}

/// What every registered source and target answers, whatever its config type.
pub trait Entry: Send + Sync {
    /// The connector's description.
    fn about(&self) -> &About;
    /// The name in `--source`/`--target` and the key of its section.
    fn name(&self) -> &'static str {
        self.about().name
    }
    /// One line for `fastlane connectors`.
    fn description(&self) -> &'static str {
        self.about().description
    }
    /// The config schema users write against: the connector's own, plus the `secret` keys.
    fn schema(&self) -> schemars::Schema {
        (self.about().schema)()
    }
    /// The connection keys a `secret` may fill.
    fn secret_fields(&self) -> &'static [SecretField] {
        self.about().secret_fields
    }
}

/// A registered source type, whatever its config type.
pub trait SourceEntry: Entry {
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
pub trait TargetEntry: Entry {
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

/// The erased entry of connector `C`, registered under a name.
pub struct Registered<C> {
    about: About,
    connector: PhantomData<fn() -> C>,
}

impl<C> Entry for Registered<C> {
    fn about(&self) -> &About {
        &self.about
    }
}

/// The entry of source `C` under `name`.
pub const fn source<C: SourceConnector>(name: &'static str) -> Registered<C> {
    Registered {
        about: About::of::<C::Config>(name),
        connector: PhantomData,
    }
}

/// The entry of target `C` under `name`.
pub const fn target<C: TargetConnector>(name: &'static str) -> Registered<C> {
    Registered {
        about: About::of::<C::Config>(name),
        connector: PhantomData,
    }
}

/// Parse and check section `kind.name` into config `T`.
fn parse_config<T: ConnectorConfig>(
    section: &Value,
    kind: &str,
    name: &str,
    mode: ReplicationMode,
) -> Result<T> {
    let config: T = section::parse(secrets::without_reference(section), &path(kind, name))?;
    config.check_for(mode)?;
    Ok(config)
}

impl<C: SourceConnector> SourceEntry for Registered<C> {
    fn parse(&'static self, section: &Value, mode: ReplicationMode) -> Result<ParsedSource> {
        let config: C::Config = parse_config(section, "source", self.about.name, mode)?;
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
        Box::pin(async move {
            let config = typed::<C::Config>(config, self.about.name)?;
            Ok(Box::new(C::open(config, context).await?) as Box<dyn Source>)
        })
    }
}

impl<C: TargetConnector> TargetEntry for Registered<C> {
    fn parse(&'static self, section: &Value, mode: ReplicationMode) -> Result<ParsedTarget> {
        let config: C::Config = parse_config(section, "target", self.about.name, mode)?;
        Ok(ParsedTarget {
            entry: self,
            target_id: config.id(),
            config: Arc::new(config),
        })
    }
    fn target_id(&self, section: &Value) -> String {
        let name = self.about.name;
        let parsed: Result<C::Config> =
            section::parse(secrets::without_reference(section), &path("target", name));
        match parsed {
            Ok(config) => config.id(),
            Err(_) => {
                let mut id = name.to_string();
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
        Box::pin(async move {
            let config = typed::<C::Config>(config, self.about.name)?;
            Ok(Box::new(C::open(config, context).await?) as Box<dyn Target>)
        })
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

/// Every source of the project, compiled into this build or not (a build made without one,
/// such as the demo's, names the feature instead of calling the type unknown).
pub const ALL_SOURCES: &[&str] = &["bigquery", "file", "generate", "mongodb", "mysql"];
/// Every target of the project, compiled into this build or not.
pub const ALL_TARGETS: &[&str] = &["file", "firehose", "influxdb", "mysql", "s3"];

/// Every source compiled into this build.
pub static SOURCES: &[&dyn SourceEntry] = &[
    #[cfg(feature = "bigquery")]
    &source::<crate::bigquery::BigQuerySource>("bigquery"),
    #[cfg(feature = "file")]
    &source::<crate::file::FileSource>("file"),
    #[cfg(feature = "generate")]
    &source::<crate::generate::GenerateSource>("generate"),
    #[cfg(feature = "mongodb")]
    &source::<crate::mongodb::MongoSource>("mongodb"),
    #[cfg(feature = "mysql")]
    &source::<crate::mysql::MySqlSource>("mysql"),
];

/// Every target compiled into this build.
pub static TARGETS: &[&dyn TargetEntry] = &[
    #[cfg(feature = "file")]
    &target::<crate::file::FileTarget>("file"),
    #[cfg(feature = "firehose")]
    &target::<crate::firehose::FirehoseTarget>("firehose"),
    #[cfg(feature = "influxdb")]
    &target::<crate::influxdb::InfluxTarget>("influxdb"),
    #[cfg(feature = "mysql")]
    &target::<crate::mysql::MySqlTarget>("mysql"),
    #[cfg(feature = "s3")]
    &target::<crate::s3::S3Target>("s3"),
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
