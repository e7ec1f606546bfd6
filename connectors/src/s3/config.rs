//! The `s3` target's settings.

use crate::{ConnectorConfig, ReplicationMode};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::aws::catalog::{GlueKeys, GlueLayout};
use crate::aws::{Connection, StaticKeys};
use crate::file::format::{check_parquet_only, parquet_properties, FileFormat, ParquetCompression};
use crate::{ConnectorError, Result};

/// Where the section sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "target.s3";
/// S3's smallest part (every part but the last), in MiB.
const MIN_PART_MIB: usize = 5;
/// The largest part, in MiB (S3 allows 5 GiB, but one part must go up within one request's
/// timeout).
const MAX_PART_MIB: usize = 512;

/// Writes Parquet, JSON Lines or CSV objects to an S3 bucket (or any S3-compatible store),
/// streamed as multipart uploads that become visible when the run commits. Either `bucket`
/// (and `prefix`), or — the original fastlane's layout — a Glue Data Catalog `database` and
/// `table` whose location and columns say where the objects go and how they are typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "s3 target")]
#[schemars(extend("anyOf" = [{"required": ["bucket"]}, {"required": ["database", "table"]}]))]
pub struct Config {
    /// The bucket (or give `database` and `table`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub bucket: Option<String>,
    /// The original layout: the Glue Data Catalog database of the table the objects belong
    /// to. The table's location (`s3://bucket/prefix/`) says where they go and its columns how
    /// they are typed; batches are converted to those types exactly or the run fails.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub database: Option<String>,
    /// The original layout: the Glue table (with `database`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub table: Option<String>,
    /// The original layout: the database of the Athena view `view_database.table` that shows
    /// the newest version of the table (one row per `pk`), re-pointed after each commit.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub view_database: Option<String>,
    /// The Athena work group the view statements run in (default `primary`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub work_group: Option<String>,
    /// Where Athena writes statement results (`s3://…`), when the work group does not say.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub athena_output: Option<String>,
    /// The original layout: a Glue crawler started after each commit instead of fastlane
    /// registering the new date partitions itself.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub crawler: Option<String>,
    /// The original layout: the table's primary key. The view keeps one row per key (the
    /// newest `_op_timestamp`), and an INCREMENTAL run resumes after `MAX(pk)` over the view.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub pk: Option<String>,
    /// With `bucket`: keep a Glue Data Catalog table describing the objects, created or
    /// updated from the batches' schema after each commit (with the `partition_by` folders as
    /// partitions), so Athena can query them without a crawler.
    #[serde(default)]
    pub catalog: Option<CatalogConfig>,
    /// Key prefix of every object (`orders/` or `lake/orders`); objects go under
    /// `{prefix}/{YYYY}/{MM}/{DD}/{timestamp}-{uuid}.{ext}`, or under the partition folders
    /// with `partition_by`.
    #[serde(default)]
    pub prefix: String,
    /// `parquet` (default), `jsonl` or `csv`.
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Parquet only: `zstd` (default), `snappy`, `lz4` or `none`.
    #[serde(default)]
    pub compression: Option<ParquetCompression>,
    /// Parquet only: the most rows in one row group (default 131072). Each row group is
    /// uploaded as soon as it is complete, so this bounds what is held in memory per object.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub row_group_size: Option<usize>,
    /// The most rows in one object; a worker starts a new object past it (default 1000000).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub batch_size: usize,
    /// Size of each uploaded part in MiB, 5 to 512 (default 8). Objects are streamed up part by
    /// part; at most `upload_concurrency` parts per object are in flight.
    #[serde(default = "default_part_size_mib")]
    #[schemars(range(min = 5, max = 512))]
    pub part_size_mib: usize,
    /// Parts of one object uploaded at the same time (default 4).
    #[serde(default = "default_upload_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub upload_concurrency: usize,
    /// Hive-style partitioning: objects go under `{prefix}/{col}={value}/…` for these columns,
    /// which are then left out of the objects themselves (query engines read them from the key).
    /// Null values go to `__HIVE_DEFAULT_PARTITION__`.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// Objects a worker keeps open at once when partitioning (default 64); past it, the oldest
    /// is finished.
    #[serde(default = "default_max_open_objects")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_open_objects: usize,
    /// INCREMENTAL runs: the column whose largest value is recorded as the offset to resume
    /// after. Default: the source's key column.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub key: Option<String>,
    /// Writer workers, each writing its own objects.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: usize,
    /// AWS region (default: `AWS_REGION` or the profile's).
    #[serde(default)]
    #[schemars(length(min = 1, max = 64), pattern(crate::aws::REGION_PATTERN))]
    pub region: Option<String>,
    /// Endpoint of an S3-compatible store (MinIO, Ceph, a test server) instead of AWS; also
    /// read from `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub endpoint_url: Option<String>,
    /// Endpoint of the Glue Data Catalog instead of AWS's (also read from
    /// `AWS_ENDPOINT_URL_GLUE` / `AWS_ENDPOINT_URL`); `endpoint_url` is the S3 store's only.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub glue_endpoint_url: Option<String>,
    /// Endpoint of Athena instead of AWS's (also read from `AWS_ENDPOINT_URL_ATHENA` /
    /// `AWS_ENDPOINT_URL`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub athena_endpoint_url: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted ones. Default:
    /// true with an endpoint override, false for AWS.
    #[serde(default)]
    pub force_path_style: Option<bool>,
    /// Named profile of the AWS config files.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub profile: Option<String>,
    /// Access key id, instead of the standard credentials chain (write `${ENV_VAR}`).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key, with `access_key_id` (write `${ENV_VAR}`).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials, with the keys.
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub session_token: Option<String>,
}

/// `catalog`: which catalog keeps the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct CatalogConfig {
    /// The AWS Glue Data Catalog.
    pub glue: GlueTableConfig,
}

/// `catalog.glue`: the table fastlane keeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct GlueTableConfig {
    /// Its database (created when missing).
    #[schemars(length(min = 1))]
    pub database: String,
    /// The table.
    #[schemars(length(min = 1))]
    pub table: String,
}

/// Where the objects go: a bucket and prefix, or the location of a Glue table.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Destination {
    Bucket { bucket: String, prefix: String },
    Glue(GlueLayout),
}

fn default_batch_size() -> usize {
    1_000_000
}

fn default_part_size_mib() -> usize {
    8
}

fn default_upload_concurrency() -> usize {
    4
}

fn default_max_open_objects() -> usize {
    64
}

fn default_concurrency() -> usize {
    1
}

/// Default rows per Parquet row group (smaller than the `file` target's: row groups are what
/// streams out as parts).
pub const DEFAULT_ROW_GROUP_SIZE: usize = 131_072;

/// The checked settings a writer needs.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    pub format: FileFormat,
    pub parquet: Option<WriterProperties>,
    /// `prefix` without its trailing slashes (may be empty).
    pub prefix: String,
    pub rows_per_object: usize,
    pub part_size: usize,
    pub upload_concurrency: usize,
    pub partition_by: Vec<String>,
    pub max_open_objects: usize,
    /// Object names as the original layout has them: `{micros}-{uuid}.parquet`.
    pub micros_names: bool,
}

impl Config {
    /// Check what serde cannot; errors name the key.
    pub(super) fn layout(&self) -> Result<Layout> {
        let key = |k: &str| format!("{SECTION}.{k}");
        let destination = self.destination()?;
        let format = self.format.unwrap_or(FileFormat::Parquet);
        if matches!(destination, Destination::Glue(_)) && format != FileFormat::Parquet {
            return Err(ConnectorError::config(
                key("format"),
                "a Glue table's objects are Parquet (leave `format` out)",
            ));
        }
        check_parquet_only(
            SECTION,
            format,
            &[
                ("compression", self.compression.is_some()),
                ("row_group_size", self.row_group_size.is_some()),
            ],
        )?;
        for (name, value) in [
            ("row_group_size", self.row_group_size.unwrap_or(1)),
            ("batch_size", self.batch_size),
            ("concurrency", self.concurrency),
            ("upload_concurrency", self.upload_concurrency),
            ("max_open_objects", self.max_open_objects),
        ] {
            if value == 0 {
                return Err(ConnectorError::config(key(name), "must be at least 1"));
            }
        }
        if !(MIN_PART_MIB..=MAX_PART_MIB).contains(&self.part_size_mib) {
            return Err(ConnectorError::config(
                key("part_size_mib"),
                format!("must be between {MIN_PART_MIB} and {MAX_PART_MIB}"),
            ));
        }
        if let Some(i) = (1..self.partition_by.len())
            .find(|&i| self.partition_by[..i].contains(&self.partition_by[i]))
        {
            return Err(ConnectorError::config(
                format!("{}[{i}]", key("partition_by")),
                format!("'{}' is listed twice", self.partition_by[i]),
            ));
        }
        let parquet = (format == FileFormat::Parquet).then(|| {
            parquet_properties(
                self.compression,
                self.row_group_size.unwrap_or(DEFAULT_ROW_GROUP_SIZE),
            )
        });
        Ok(Layout {
            format,
            parquet,
            prefix: self.prefix.trim_end_matches('/').to_string(),
            rows_per_object: self.batch_size,
            part_size: self.part_size_mib << 20,
            upload_concurrency: self.upload_concurrency,
            partition_by: self.partition_by.clone(),
            max_open_objects: self.max_open_objects,
            micros_names: matches!(destination, Destination::Glue(_)),
        })
    }

    /// A bucket and prefix, or the original layout's Glue table; the keys of one do not go
    /// with the other.
    pub(super) fn destination(&self) -> Result<Destination> {
        let key = |k: &str| format!("{SECTION}.{k}");
        let glue = self.glue_keys().layout(SECTION)?;
        match (&self.bucket, glue) {
            (Some(_), Some(_)) => Err(ConnectorError::config(
                key("bucket"),
                "give either `bucket` (and `prefix`) or a Glue `database` and `table`, not both \
                 (to register a bucket's objects in Glue, use `catalog.glue`)",
            )),
            (Some(bucket), None) => {
                if bucket.trim().is_empty() {
                    return Err(ConnectorError::config(key("bucket"), "must not be empty"));
                }
                if let Some(catalog) = &self.catalog {
                    for (name, value) in [
                        ("database", &catalog.glue.database),
                        ("table", &catalog.glue.table),
                    ] {
                        if value.trim().is_empty() {
                            return Err(ConnectorError::config(
                                key(&format!("catalog.glue.{name}")),
                                "must not be empty",
                            ));
                        }
                    }
                }
                Ok(Destination::Bucket {
                    bucket: bucket.clone(),
                    prefix: self.prefix.trim_end_matches('/').to_string(),
                })
            }
            (None, Some(glue)) => {
                for (name, set) in [
                    ("prefix", !self.prefix.is_empty()),
                    ("partition_by", !self.partition_by.is_empty()),
                    ("catalog", self.catalog.is_some()),
                ] {
                    if set {
                        return Err(ConnectorError::config(
                            key(name),
                            "does not go with `database`/`table`: the Glue table's location says \
                             where the objects go, under date folders",
                        ));
                    }
                }
                if let (Some(offset_key), Some(pk), Some(_)) =
                    (&self.key, &glue.pk, &glue.view_database)
                {
                    if !offset_key.eq_ignore_ascii_case(pk) {
                        return Err(ConnectorError::config(
                            key("key"),
                            format!(
                                "INCREMENTAL runs resume after MAX(`{pk}`) over the view: leave \
                                 `key` out, or make it `pk`"
                            ),
                        ));
                    }
                }
                Ok(Destination::Glue(glue))
            }
            (None, None) => Err(ConnectorError::config(
                key("bucket"),
                "required field is missing (or give a Glue `database` and `table`)",
            )),
        }
    }

    fn glue_keys(&self) -> GlueKeys<'_> {
        GlueKeys {
            database: self.database.as_deref(),
            table: self.table.as_deref(),
            view_database: self.view_database.as_deref(),
            work_group: self.work_group.as_deref(),
            athena_output: self.athena_output.as_deref(),
            crawler: self.crawler.as_deref(),
            pk: self.pk.as_deref(),
        }
    }

    /// How to reach the store.
    pub(super) fn connection(&self) -> Result<Connection<'_>> {
        Ok(Connection {
            service: "S3",
            section: SECTION,
            region: self.region.as_deref(),
            endpoint_url: self.endpoint_url.as_deref(),
            profile: self.profile.as_deref(),
            keys: StaticKeys::from_config(
                SECTION,
                self.access_key_id.as_deref(),
                self.secret_access_key.as_deref(),
                self.session_token.as_deref(),
            )?,
        })
    }

    /// How to reach the Glue Data Catalog and Athena: the region and credentials of the S3
    /// connection, but not its `endpoint_url` (an S3-compatible store is no catalog);
    /// `AWS_ENDPOINT_URL_GLUE` / `AWS_ENDPOINT_URL_ATHENA` override their endpoints.
    pub(super) fn catalog_connection(&self) -> Result<Connection<'_>> {
        for (name, url) in [
            ("glue_endpoint_url", &self.glue_endpoint_url),
            ("athena_endpoint_url", &self.athena_endpoint_url),
        ] {
            if let Some(url) = url {
                crate::aws::check_endpoint(&format!("{SECTION}.{name}"), url)?;
            }
        }
        Ok(Connection {
            service: "GLUE",
            endpoint_url: None,
            ..self.connection()?
        })
    }

    /// `bucket/prefix`, or `glue:database.table`: the target's id.
    pub(super) fn target_id(&self) -> String {
        match (&self.bucket, &self.database, &self.table) {
            (None, Some(database), Some(table)) => format!("glue:{database}.{table}"),
            _ => {
                let bucket = self.bucket.clone().unwrap_or_default();
                let prefix = self.prefix.trim_end_matches('/');
                if prefix.is_empty() {
                    bucket
                } else {
                    format!("{bucket}/{prefix}")
                }
            }
        }
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str = "Write Parquet, JSON Lines or CSV objects to S3 (or an S3-compatible store), visible when the run commits";

    fn id(&self) -> String {
        self.target_id()
    }

    fn check_for(&self, _mode: ReplicationMode) -> Result<()> {
        self.layout()?;
        self.catalog_connection()?;
        self.connection()?.check()
    }
}
