//! The S3 and Firehose targets and the AWS Glue Data Catalog.
//!
//! - **The original layout** (`database`, `table`, optional `view_database`, `work_group`,
//!   `crawler`, `pk`): the table exists in the catalog; its location says where the objects go
//!   and its columns how they are typed. Batches are converted to those types (a value or a
//!   column that cannot be converted exactly fails the run, naming it), FULL_TABLE rows carry
//!   the run's `_table_version`, and after the objects are committed the date folders are
//!   registered as partitions (or the named crawler is started) and the Athena view
//!   `view_database.table` is re-pointed at the newest version, one row per `pk` (the newest
//!   `_op_timestamp`). INCREMENTAL runs resume after `MAX(pk)` over that view.
//! - **`catalog.glue`** on a `bucket`/`prefix` target: fastlane creates or updates the table
//!   from the Arrow schema after each commit (and registers the `partition_by` folders), so
//!   Athena can query what it writes without a crawler.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, Int64Array};
use arrow::compute::{can_cast_types, cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use tokio::sync::OnceCell;

use aws_config::SdkConfig;

use super::athena::{quote, Athena};
use super::glue::{arrow_type, catalog_type, lossy, Column, Glue, Partition, Table};
use super::json_api::{JsonApi, Service};
use crate::{ConnectorError, Offset, Result};

/// The column holding a FULL_TABLE run's version (its start, in epoch seconds).
pub const TABLE_VERSION: &str = "_table_version";
/// The column the view orders by to keep the newest row per key.
const OP_TIMESTAMP: &str = "_op_timestamp";
/// The partition folders the original layout writes under the table's location.
const DATE_FOLDERS: usize = 3;

/// The original layout's settings (the `s3` and `firehose` targets' `database`, `table`,
/// `view_database`, `work_group`, `athena_output`, `crawler` and `pk`).
#[derive(Clone, Debug, PartialEq)]
pub struct GlueLayout {
    pub database: String,
    pub table: String,
    pub view_database: Option<String>,
    /// Default `primary`.
    pub work_group: String,
    pub athena_output: Option<String>,
    pub crawler: Option<String>,
    pub pk: Option<String>,
}

/// The original layout's keys as a target section has them.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlueKeys<'a> {
    pub database: Option<&'a str>,
    pub table: Option<&'a str>,
    pub view_database: Option<&'a str>,
    pub work_group: Option<&'a str>,
    pub athena_output: Option<&'a str>,
    pub crawler: Option<&'a str>,
    pub pk: Option<&'a str>,
}

impl GlueKeys<'_> {
    /// The layout when `database` and `table` are given (`None` when neither is); errors name
    /// the key of `section`.
    pub fn layout(&self, section: &str) -> Result<Option<GlueLayout>> {
        let key = |k: &str| format!("{section}.{k}");
        let given = |v: Option<&str>| v.filter(|v| !v.trim().is_empty()).map(str::to_string);
        let (database, table) = match (given(self.database), given(self.table)) {
            (Some(database), Some(table)) => (database, table),
            (None, None) => {
                let stray = [
                    ("view_database", self.view_database),
                    ("work_group", self.work_group),
                    ("athena_output", self.athena_output),
                    ("crawler", self.crawler),
                    ("pk", self.pk),
                ]
                .into_iter()
                .find(|(_, v)| v.is_some());
                return match stray {
                    Some((name, _)) => Err(ConnectorError::config(
                        key(name),
                        "belongs to a Glue table target: set `database` and `table` too",
                    )),
                    None => Ok(None),
                };
            }
            (Some(_), None) => {
                return Err(ConnectorError::config(
                    key("table"),
                    "required with `database` (the Glue table the rows belong to)",
                ))
            }
            (None, Some(_)) => {
                return Err(ConnectorError::config(
                    key("database"),
                    "required with `table` (the Glue database of the table)",
                ))
            }
        };
        if given(self.view_database).is_none() {
            for (name, set) in [
                ("work_group", self.work_group.is_some()),
                ("athena_output", self.athena_output.is_some()),
            ] {
                if set {
                    return Err(ConnectorError::config(
                        key(name),
                        "is for the view statements: set `view_database` too",
                    ));
                }
            }
        }
        if let Some(output) = self.athena_output {
            if !output.starts_with("s3://") {
                return Err(ConnectorError::config(
                    key("athena_output"),
                    format!("{output:?} is not an s3:// location"),
                ));
            }
        }
        Ok(Some(GlueLayout {
            database,
            table,
            view_database: given(self.view_database),
            work_group: given(self.work_group).unwrap_or_else(|| "primary".into()),
            athena_output: given(self.athena_output),
            crawler: given(self.crawler),
            pk: given(self.pk),
        }))
    }
}

/// Endpoint overrides of the catalog services (`glue_endpoint_url`, `athena_endpoint_url`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Endpoints<'a> {
    pub glue: Option<&'a str>,
    pub athena: Option<&'a str>,
}

/// Where the view of the original layout lives, and how to reach Athena.
#[derive(Clone, Debug)]
pub struct View {
    pub athena: Athena,
    pub database: String,
}

/// The original layout: a table that exists in the catalog.
#[derive(Debug)]
pub struct CatalogTable {
    /// `s3 target` or `firehose target`, for messages.
    pub target: &'static str,
    pub glue: Glue,
    pub table: Table,
    pub view: Option<View>,
    pub crawler: Option<String>,
    pub pk: Option<String>,
    pub full_table: bool,
    /// Whether fastlane registers the date folders as partitions (the S3 target; Firehose
    /// writes its own folders, which its stream's settings or a crawler register).
    pub registers_partitions: bool,
    /// The run's start, epoch seconds: a FULL_TABLE run's version.
    pub started: i64,
    /// The version this run writes: set by the offset read (INCREMENTAL) or on first use.
    pub version: OnceCell<Option<i64>>,
    /// The largest `pk` the view held at the start (INCREMENTAL).
    pub view_offset: OnceCell<Option<Offset>>,
}

/// `catalog.glue`: a table fastlane keeps in step with what it writes.
#[derive(Debug)]
pub struct Registration {
    pub glue: Glue,
    pub database: String,
    pub name: String,
    /// `s3://bucket/prefix/`.
    pub location: String,
    pub partition_by: Vec<String>,
    pub full_table: bool,
    /// The table as it was at the start (`None`: not there yet).
    pub existing: Option<Table>,
    /// The columns this run writes, set by the first batch.
    pub columns: Mutex<Option<Table>>,
}

/// The catalog side of an S3 target.
#[derive(Debug)]
pub enum Catalog {
    Table(Box<CatalogTable>),
    Register(Box<Registration>),
}

/// How a writer turns the run's batches into the objects' columns.
#[derive(Clone, Debug)]
pub struct Conform {
    schema: SchemaRef,
    steps: Vec<Step>,
    /// For messages: `Glue table db.t`.
    what: String,
}

#[derive(Clone, Debug)]
enum Step {
    /// The batch's column, as it is.
    Keep(usize),
    /// The batch's column converted, failing on any value that does not convert exactly.
    Cast(usize, DataType),
    /// The same number in every row, as this type.
    Constant(i64, DataType),
}

impl Conform {
    /// The batch with the objects' columns.
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let columns = self
            .steps
            .iter()
            .zip(self.schema.fields())
            .map(|(step, field)| -> Result<ArrayRef> {
                Ok(match step {
                    Step::Keep(i) => batch.column(*i).clone(),
                    Step::Cast(i, to) => {
                        let from = batch.column(*i);
                        cast_with_options(from, to, &options).map_err(|e| {
                            ConnectorError::Other(format!(
                                "{}: column `{}` ({}) cannot be written as {}: {e}",
                                self.what,
                                batch.schema().field(*i).name(),
                                from.data_type(),
                                field.data_type()
                            ))
                        })?
                    }
                    Step::Constant(v, to) => {
                        let column: ArrayRef =
                            Arc::new(Int64Array::from_value(*v, batch.num_rows()));
                        cast_with_options(&column, to, &options).map_err(|e| {
                            ConnectorError::Other(format!("{}: `{TABLE_VERSION}`: {e}", self.what))
                        })?
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| ConnectorError::Arrow {
            context: self.what.clone(),
            source: e,
        })
    }
}

/// How a batch column of type `from` is written for a catalog column of type `kind`: `None`
/// as it is, `Some(t)` converted to `t`.
fn plan_column(from: &DataType, kind: &str) -> std::result::Result<Option<DataType>, String> {
    use DataType::*;
    let Some(to) = arrow_type(kind) else {
        // Nested and unknown catalog types: only what already has that type.
        return match catalog_type(from) {
            Ok((name, written)) if name == kind && &written == from => Ok(None),
            _ => Err(format!(
                "the catalog type `{kind}` is not one fastlane converts to"
            )),
        };
    };
    // Written as they are: every timestamp unit (the catalog's `timestamp` reads them all, and
    // none is truncated) and every string and binary layout.
    let same_family = matches!(
        (from, &to),
        (Timestamp(_, _), Timestamp(_, _))
            | (Utf8 | LargeUtf8 | Utf8View, Utf8)
            | (
                Binary | LargeBinary | BinaryView | FixedSizeBinary(_),
                Binary
            )
    );
    if from == &to || same_family {
        return Ok(None);
    }
    if let Some(why) = lossy(from, &to) {
        return Err(why);
    }
    if can_cast_types(from, &to) {
        Ok(Some(to))
    } else {
        Err(format!("no conversion from {from} to {to}"))
    }
}

impl CatalogTable {
    /// Read the table from the catalog and check it can take what `target` writes.
    pub async fn open(
        target: &'static str,
        layout: &GlueLayout,
        sdk: &SdkConfig,
        endpoints: Endpoints<'_>,
        full_table: bool,
        registers_partitions: bool,
    ) -> Result<Self> {
        let glue = Glue::new(JsonApi::new(Service::Glue, sdk, endpoints.glue)?);
        let table = glue
            .get_table(&layout.database, &layout.table)
            .await?
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "{target}: the Glue table {}.{} does not exist (its location and columns say \
                     where and how the rows are written: create it, or write to an s3 `bucket` \
                     with `catalog.glue` to have fastlane create it)",
                    layout.database, layout.table
                ))
            })?;
        let view = match &layout.view_database {
            Some(database) => Some(View {
                athena: Athena::new(
                    JsonApi::new(Service::Athena, sdk, endpoints.athena)?,
                    &layout.work_group,
                    layout.athena_output.as_deref(),
                ),
                database: database.clone(),
            }),
            None => None,
        };
        let table = Self {
            target,
            glue,
            table,
            view,
            crawler: layout.crawler.clone(),
            pk: layout.pk.clone(),
            registers_partitions,
            full_table,
            started: chrono::Utc::now().timestamp(),
            version: OnceCell::new(),
            view_offset: OnceCell::new(),
        };
        table.check()?;
        Ok(table)
    }

    /// Whether INCREMENTAL runs read their offset over the view (`view_database` and `pk`).
    pub fn has_view_offset(&self) -> bool {
        self.view.is_some() && self.pk.is_some()
    }

    /// `Glue table db.t` for messages.
    fn what(&self) -> String {
        format!("{}, Glue table {}", self.target, self.table.qualified())
    }

    fn has_column(&self, name: &str) -> bool {
        self.table
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Check the table can take what this layout writes (before any data moves).
    pub fn check(&self) -> Result<()> {
        let what = self.what();
        if self.registers_partitions
            && self.crawler.is_none()
            && !self.table.partition_keys.is_empty()
            && self.table.partition_keys.len() != DATE_FOLDERS
        {
            let keys: Vec<&str> = self
                .table
                .partition_keys
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(ConnectorError::Other(format!(
                "{what}: it is partitioned by ({}), but objects go under date folders \
                 {{YYYY}}/{{MM}}/{{DD}} registered as three partition keys; name a `crawler` \
                 to register them instead",
                keys.join(", ")
            )));
        }
        if let Some(pk) = &self.pk {
            if !self.has_column(pk) {
                return Err(ConnectorError::config(
                    format!(
                        "target.{}.pk",
                        self.target.split(' ').next().unwrap_or("s3")
                    ),
                    format!(
                        "the Glue table {} has no column `{pk}`",
                        self.table.qualified()
                    ),
                ));
            }
            if self.view.is_some() && !self.has_column(OP_TIMESTAMP) {
                return Err(ConnectorError::Other(format!(
                    "{what}: the view keeps the newest row per `{pk}` by `{OP_TIMESTAMP}`, \
                     which the table lacks (add the column, or turn `add_op_fields` on)"
                )));
            }
        }
        Ok(())
    }

    /// The largest `pk` in the view and the version it shows (`None`s when there is no view
    /// yet or it is empty).
    async fn read_view(&self) -> Result<(Option<Offset>, Option<i64>)> {
        let versioned = self.has_column(TABLE_VERSION);
        let Some(view) = &self.view else {
            return Ok((None, None));
        };
        if self.pk.is_none() && !versioned {
            return Ok((None, None));
        }
        if self
            .glue
            .get_table(&view.database, &self.table.name)
            .await?
            .is_none()
        {
            return Ok((None, None));
        }
        let query = format!(
            "SELECT {}, {} FROM {}.{}",
            match &self.pk {
                Some(pk) => format!("MAX({})", quote(pk)),
                None => "NULL".into(),
            },
            if versioned {
                format!("MAX({})", quote(TABLE_VERSION))
            } else {
                "NULL".into()
            },
            quote(&view.database),
            quote(&self.table.name)
        );
        let row = view.athena.first_row(&query, &view.database).await?;
        let cell = |i: usize| row.get(i).cloned().flatten().filter(|v| !v.is_empty());
        let kind = self
            .table
            .columns
            .iter()
            .find(|c| {
                self.pk
                    .as_ref()
                    .is_some_and(|pk| c.name.eq_ignore_ascii_case(pk))
            })
            .map(|c| c.kind.clone())
            .unwrap_or_default();
        let offset = cell(0).map(|v| match arrow_type(&kind) {
            Some(t) if t.is_integer() => v
                .parse::<i64>()
                .map(Offset::Int)
                .or_else(|_| v.parse::<u64>().map(Offset::UInt))
                .unwrap_or(Offset::Text(v)),
            _ => Offset::Text(v),
        });
        let version = match cell(1) {
            Some(v) => Some(v.parse::<i64>().map_err(|_| {
                ConnectorError::Other(format!(
                    "{}: `{TABLE_VERSION}` {v:?} is not a number",
                    self.what()
                ))
            })?),
            None => None,
        };
        Ok((offset, version))
    }

    /// The version the last committed FULL_TABLE run wrote, as the target recorded it (the S3
    /// target's state object): an INCREMENTAL run continues it, whatever the view shows.
    pub fn known_version(&self, version: Option<i64>) {
        if let (Some(v), false) = (version, self.full_table) {
            let _ = self.version.set(self.versioned(Some(v)));
        }
    }

    /// The version this run writes, once known.
    pub fn current_version(&self) -> Option<i64> {
        self.version.get().copied().flatten()
    }

    /// INCREMENTAL: the offset over the view (and the version to continue, unless the target
    /// knew it already).
    pub async fn offset(&self) -> Result<Option<Offset>> {
        self.view_offset
            .get_or_try_init(|| async {
                let (offset, version) = self.read_view().await?;
                let _ = self.version.set(self.versioned(version));
                Ok::<_, ConnectorError>(offset)
            })
            .await
            .cloned()
    }

    fn versioned(&self, current: Option<i64>) -> Option<i64> {
        self.has_column(TABLE_VERSION).then(|| {
            if self.full_table {
                self.started
            } else {
                current.unwrap_or(self.started)
            }
        })
    }

    /// The `_table_version` this run writes (`None`: the table has no such column).
    async fn version(&self) -> Result<Option<i64>> {
        if !self.full_table {
            self.offset().await?;
        }
        Ok(*self
            .version
            .get_or_init(|| async { self.versioned(None) })
            .await)
    }

    /// The conversion of batches of `schema` to the table's columns.
    pub async fn conform(&self, schema: &Schema) -> Result<Conform> {
        let version = self.version().await?;
        let what = self.what();
        let mut used = vec![false; schema.fields().len()];
        let mut steps = Vec::new();
        let mut fields = Vec::new();
        let mut missing = Vec::new();
        let mut problems = Vec::new();
        for column in &self.table.columns {
            let found = schema
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(&column.name));
            if column.name.eq_ignore_ascii_case(TABLE_VERSION) {
                if let Some(v) = version {
                    if let Some(i) = found {
                        used[i] = true;
                    }
                    match plan_column(&DataType::Int64, &column.kind) {
                        Ok(to) => {
                            let to = to.unwrap_or(DataType::Int64);
                            steps.push(Step::Constant(v, to.clone()));
                            fields.push(Field::new(&column.name, to, false));
                        }
                        Err(why) => problems.push(format!(
                            "column `{TABLE_VERSION}` is `{}`, which cannot hold the run's \
                             version (epoch seconds): {why}",
                            column.kind
                        )),
                    }
                    continue;
                }
            }
            let Some(i) = found else {
                missing.push(column.name.clone());
                continue;
            };
            used[i] = true;
            let from = schema.field(i).data_type();
            match plan_column(from, &column.kind) {
                Ok(None) => {
                    steps.push(Step::Keep(i));
                    fields.push(Field::new(&column.name, from.clone(), true));
                }
                Ok(Some(to)) => {
                    steps.push(Step::Cast(i, to.clone()));
                    fields.push(Field::new(&column.name, to, true));
                }
                Err(why) => problems.push(format!(
                    "column `{}` ({from}) cannot be written as `{}`: {why}",
                    column.name, column.kind
                )),
            }
        }
        let extra: Vec<&str> = schema
            .fields()
            .iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|(f, _)| f.name().as_str())
            .collect();
        if !extra.is_empty() {
            problems.push(format!(
                "the batches have columns the table does not: {} (add them to the table, or drop \
                 them in a transform)",
                extra.join(", ")
            ));
        }
        if !missing.is_empty() {
            problems.push(format!(
                "the table has columns the batches do not: {}",
                missing.join(", ")
            ));
        }
        if !problems.is_empty() {
            return Err(ConnectorError::Other(format!(
                "{what}: {}",
                problems.join("; ")
            )));
        }
        Ok(Conform {
            schema: Arc::new(Schema::new(fields)),
            steps,
            what,
        })
    }

    /// After the objects are committed: partitions (or the crawler), then the view.
    pub async fn committed(&self, bucket: &str, prefix: &str, objects: &[String]) -> Result<()> {
        if let Some(crawler) = &self.crawler {
            self.glue.start_crawler(crawler).await?;
        } else if self.registers_partitions && self.table.partition_keys.len() == DATE_FOLDERS {
            let partitions = folders(bucket, prefix, objects, DATE_FOLDERS, |s| {
                Some(s.to_string())
            });
            self.glue.add_partitions(&self.table, &partitions).await?;
        }
        if let Some(view) = &self.view {
            let version = self.version().await?;
            let statement =
                view_statement(&view.database, &self.table, self.pk.as_deref(), version);
            view.athena.run(&statement, &view.database).await?;
            tracing::info!(
                view = %format!("{}.{}", view.database, self.table.name),
                version = ?version,
                "Athena view re-pointed"
            );
        }
        Ok(())
    }
}

/// The distinct partition folders (their first `depth` segments under `prefix`) of `objects`,
/// with each segment's value.
fn folders(
    bucket: &str,
    prefix: &str,
    objects: &[String],
    depth: usize,
    value: impl Fn(&str) -> Option<String>,
) -> Vec<Partition> {
    let base = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let mut seen = BTreeSet::new();
    for key in objects {
        let Some(rel) = key.strip_prefix(&base) else {
            continue;
        };
        let segments: Vec<&str> = rel.split('/').collect();
        if segments.len() <= depth {
            continue;
        }
        let values: Option<Vec<String>> = segments[..depth].iter().map(|s| value(s)).collect();
        if let Some(values) = values {
            seen.insert(Partition {
                values,
                location: format!("s3://{bucket}/{base}{}/", segments[..depth].join("/")),
            });
        }
    }
    seen.into_iter().collect()
}

/// The statement re-pointing the view at `version`, one row per `pk` (the newest
/// `_op_timestamp`).
pub fn view_statement(
    view_database: &str,
    table: &Table,
    pk: Option<&str>,
    version: Option<i64>,
) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .chain(&table.partition_keys)
        .map(|c| quote(&c.name))
        .collect();
    let columns = columns.join(", ");
    let source = format!("{}.{}", quote(&table.database), quote(&table.name));
    let filter = version
        .map(|v| format!("\nWHERE {} = {v}", quote(TABLE_VERSION)))
        .unwrap_or_default();
    let view = format!("{}.{}", quote(view_database), quote(&table.name));
    match pk {
        Some(pk) => format!(
            "CREATE OR REPLACE VIEW {view} AS\nSELECT {columns}\nFROM (\n  SELECT {columns}, \
             row_number() OVER (PARTITION BY {} ORDER BY {} DESC) AS \"_fastlane_rank\"\n  \
             FROM {source}{}\n)\nWHERE \"_fastlane_rank\" = 1",
            quote(pk),
            quote(OP_TIMESTAMP),
            filter.replace('\n', "\n  ")
        ),
        None => {
            format!("CREATE OR REPLACE VIEW {view} AS\nSELECT {columns}\nFROM {source}{filter}")
        }
    }
}

impl Registration {
    fn what(&self) -> String {
        format!("s3 target, Glue table {}.{}", self.database, self.name)
    }

    /// The objects' columns for batches of `schema`, checked against the table as it is.
    pub fn conform(&self, schema: &Schema) -> Result<Conform> {
        let what = self.what();
        let mut steps = Vec::new();
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        let mut partition_keys = Vec::new();
        let mut problems = Vec::new();
        for (i, field) in schema.fields().iter().enumerate() {
            let (kind, written) = match catalog_type(field.data_type()) {
                Ok(found) => found,
                Err(what) => {
                    problems.push(format!(
                        "column `{}` ({what}) has no Glue type (convert it in a transform)",
                        field.name()
                    ));
                    continue;
                }
            };
            let column = Column {
                name: field.name().to_ascii_lowercase(),
                kind,
            };
            if self.partition_by.iter().any(|p| p == field.name()) {
                partition_keys.push(column);
                // Partition columns are not in the objects (the writer takes them out).
                steps.push(Step::Keep(i));
                fields.push(field.as_ref().clone());
                continue;
            }
            if columns.iter().any(|c: &Column| c.name == column.name) {
                problems.push(format!(
                    "columns differing only in case are one column in Glue: `{}`",
                    field.name()
                ));
            }
            columns.push(column);
            if &written == field.data_type() {
                steps.push(Step::Keep(i));
                fields.push(field.as_ref().clone());
            } else {
                steps.push(Step::Cast(i, written.clone()));
                fields.push(Field::new(field.name(), written, true));
            }
        }
        // An INCREMENTAL run adds to what is there: a column it shares must keep its type.
        if let (Some(existing), false) = (&self.existing, self.full_table) {
            for column in &columns {
                if let Some(old) = existing.columns.iter().find(|c| c.name == column.name) {
                    if old.kind != column.kind {
                        problems.push(format!(
                            "column `{}` is `{}` in the table and `{}` in this run (a FULL_TABLE \
                             run replaces the table's definition)",
                            column.name, old.kind, column.kind
                        ));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(ConnectorError::Other(format!(
                "{what}: {}",
                problems.join("; ")
            )));
        }
        // Partition keys in `partition_by` order (the folders' order).
        partition_keys.sort_by_key(|c: &Column| {
            self.partition_by
                .iter()
                .position(|p| p.eq_ignore_ascii_case(&c.name))
        });
        let mut table = Table {
            database: self.database.clone(),
            name: self.name.clone(),
            location: self.location.clone(),
            columns,
            partition_keys,
        };
        if let (Some(existing), false) = (&self.existing, self.full_table) {
            // Columns only older objects have stay readable (null in the new ones).
            let mut merged = existing.columns.clone();
            merged.extend(
                table
                    .columns
                    .iter()
                    .filter(|c| !existing.columns.iter().any(|e| e.name == c.name))
                    .cloned(),
            );
            table.columns = merged;
        }
        *self.columns.lock().unwrap_or_else(|e| e.into_inner()) = Some(table);
        Ok(Conform {
            schema: Arc::new(Schema::new(fields)),
            steps,
            what,
        })
    }

    /// After the objects are committed: create or update the table, register partitions.
    pub async fn committed(&self, bucket: &str, prefix: &str, objects: &[String]) -> Result<()> {
        let Some(table) = self
            .columns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        else {
            // Nothing was written: the table stays as it was.
            return Ok(());
        };
        if self.existing.as_ref() != Some(&table) {
            if self.existing.is_none() {
                self.glue.ensure_database(&self.database).await?;
            }
            self.glue.put_table(&table, self.existing.is_some()).await?;
        }
        if !self.partition_by.is_empty() {
            let partitions = folders(bucket, prefix, objects, self.partition_by.len(), |s| {
                s.split_once('=').map(|(_, v)| unescape(v))
            });
            self.glue.add_partitions(&table, &partitions).await?;
        }
        Ok(())
    }
}

impl Catalog {
    /// The conversion of batches of `schema` to the objects' columns.
    pub async fn conform(&self, schema: &Schema) -> Result<Conform> {
        match self {
            Catalog::Table(t) => t.conform(schema).await,
            Catalog::Register(r) => r.conform(schema),
        }
    }

    /// After the objects are committed.
    pub async fn committed(&self, bucket: &str, prefix: &str, objects: &[String]) -> Result<()> {
        match self {
            Catalog::Table(t) => t.committed(bucket, prefix, objects).await,
            Catalog::Register(r) => r.committed(bucket, prefix, objects).await,
        }
    }
}

/// Undo Hive's `%XX` escaping of a folder's value.
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let column = |name: &str, kind: &str| Column {
            name: name.into(),
            kind: kind.into(),
        };
        Table {
            database: "lake".into(),
            name: "orders".into(),
            location: "s3://b/orders/".into(),
            columns: vec![column("id", "bigint"), column(TABLE_VERSION, "bigint")],
            partition_keys: vec![column("year", "string")],
        }
    }

    #[test]
    fn the_glue_keys_go_together() {
        let keys = |database, table, view_database, athena_output| GlueKeys {
            database,
            table,
            view_database,
            athena_output,
            ..Default::default()
        };
        assert_eq!(
            keys(None, None, None, None).layout("target.s3").unwrap(),
            None
        );
        let err = keys(Some("lake"), None, None, None)
            .layout("target.s3")
            .unwrap_err();
        assert!(
            err.to_string().starts_with("target.s3.table: required"),
            "{err}"
        );
        let err = keys(None, None, Some("views"), None)
            .layout("target.s3")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("target.s3.view_database: belongs to a Glue table"),
            "{err}"
        );
        let err = keys(Some("lake"), Some("t"), None, Some("s3://r/"))
            .layout("target.firehose")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("target.firehose.athena_output: is for the view"),
            "{err}"
        );
        let err = keys(Some("lake"), Some("t"), Some("v"), Some("/tmp/r"))
            .layout("target.s3")
            .unwrap_err();
        assert!(err.to_string().contains("not an s3:// location"), "{err}");
        let layout = keys(Some("lake"), Some("t"), Some("v"), None)
            .layout("target.s3")
            .unwrap()
            .unwrap();
        assert_eq!(layout.work_group, "primary");
    }

    #[test]
    fn a_view_without_a_key_shows_the_whole_version() {
        assert_eq!(
            view_statement("views", &table(), None, Some(1_796_000_000)),
            "CREATE OR REPLACE VIEW \"views\".\"orders\" AS\nSELECT \"id\", \"_table_version\", \
             \"year\"\nFROM \"lake\".\"orders\"\nWHERE \"_table_version\" = 1796000000"
        );
        // Quotes in names are doubled, not left to end the identifier.
        let mut odd = table();
        odd.name = "or\"ders".into();
        assert!(view_statement("v", &odd, Some("id"), None).contains("\"or\"\"ders\""));
    }

    #[test]
    fn partition_folders_are_read_back_from_object_keys() {
        let objects = vec![
            "p/_op_type=I/2026/1.parquet".to_string(),
            "p/_op_type=a%2Fb/2.parquet".to_string(),
            "p/_op_type=I/3.parquet".to_string(),
            "elsewhere/x=1/4.parquet".to_string(),
        ];
        let parts = folders("b", "p", &objects, 1, |s| {
            s.split_once('=').map(|(_, v)| unescape(v))
        });
        assert_eq!(
            parts,
            vec![
                Partition {
                    values: vec!["I".into()],
                    location: "s3://b/p/_op_type=I/".into()
                },
                Partition {
                    values: vec!["a/b".into()],
                    location: "s3://b/p/_op_type=a%2Fb/".into()
                },
            ]
        );
    }
}
