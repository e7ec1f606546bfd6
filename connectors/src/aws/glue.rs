//! The AWS Glue Data Catalog: read a table's columns and location, create or update a table from
//! an Arrow schema, register partitions, start a crawler; and the mapping between Arrow types
//! and the catalog's (Hive) type names.

use std::time::Duration;

use arrow::datatypes::{DataType, TimeUnit};
use serde_json::{json, Value};

use super::json_api::{ApiError, JsonApi};
use crate::{ConnectorError, Result};

/// Partitions per BatchCreatePartition call (Glue's limit).
const PARTITION_BATCH: usize = 100;

/// A column of a catalog table: its name and catalog type (`bigint`, `decimal(10,2)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The name, as the catalog keeps it (lower case).
    pub name: String,
    /// The catalog's type name.
    pub kind: String,
}

/// What fastlane reads of a catalog table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its database.
    pub database: String,
    /// Its name.
    pub name: String,
    /// `s3://bucket/prefix/` of its data.
    pub location: String,
    /// The data columns, in order.
    pub columns: Vec<Column>,
    /// The partition keys, in order.
    pub partition_keys: Vec<Column>,
}

impl Table {
    /// `database.table`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }

    /// The bucket and the key prefix (without trailing `/`) of its location.
    pub fn bucket_and_prefix(&self) -> Result<(String, String)> {
        split_location(&self.location).ok_or_else(|| {
            ConnectorError::Other(format!(
                "Glue table {}: its location {:?} is not an s3:// URL",
                self.qualified(),
                self.location
            ))
        })
    }
}

/// `s3://bucket/some/prefix/` → (`bucket`, `some/prefix`).
pub fn split_location(location: &str) -> Option<(String, String)> {
    let rest = location
        .strip_prefix("s3://")
        .or_else(|| location.strip_prefix("s3a://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// A partition to register: its values (in partition key order) and its folder.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Partition {
    /// The values, one per partition key.
    pub values: Vec<String>,
    /// `s3://bucket/prefix/…/`.
    pub location: String,
}

/// A client of the Glue Data Catalog.
#[derive(Clone, Debug)]
pub struct Glue {
    api: JsonApi,
}

fn failed(what: String, e: ApiError) -> ConnectorError {
    ConnectorError::Other(format!("{what}: {e}"))
}

impl Glue {
    /// A client sending through `api` (a [`JsonApi`] for [`super::json_api::Service::Glue`]).
    pub fn new(api: JsonApi) -> Self {
        Self { api }
    }

    /// The table, or `None` when the catalog has no such table (or database).
    pub async fn get_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        let answer = self
            .api
            .call("GetTable", &json!({"DatabaseName": database, "Name": name}))
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) if e.not_found() => return Ok(None),
            Err(e) => {
                return Err(failed(
                    format!(
                        "reading Glue table {database}.{name} ({})",
                        self.api.endpoint()
                    ),
                    e,
                ))
            }
        };
        let table = &answer["Table"];
        let columns = |v: &Value| -> Vec<Column> {
            v.as_array()
                .map(|cols| {
                    cols.iter()
                        .map(|c| Column {
                            name: c["Name"].as_str().unwrap_or_default().to_string(),
                            kind: normalize(c["Type"].as_str().unwrap_or_default()),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Some(Table {
            database: database.to_string(),
            name: name.to_string(),
            location: table["StorageDescriptor"]["Location"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            columns: columns(&table["StorageDescriptor"]["Columns"]),
            partition_keys: columns(&table["PartitionKeys"]),
        }))
    }

    /// Create the database when the catalog does not have it.
    pub async fn ensure_database(&self, database: &str) -> Result<()> {
        match self
            .api
            .call("GetDatabase", &json!({"Name": database}))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.not_found() => {}
            Err(e) => return Err(failed(format!("reading Glue database {database}"), e)),
        }
        let input = json!({"DatabaseInput": {
            "Name": database,
            "Description": "Created by fastlane",
        }});
        match self.api.call("CreateDatabase", &input).await {
            Ok(_) => Ok(()),
            // Another run created it in between.
            Err(e) if e.code == "AlreadyExistsException" => Ok(()),
            Err(e) => Err(failed(format!("creating Glue database {database}"), e)),
        }
    }

    /// Create `table`, or replace its definition when it exists: a Parquet table at its
    /// location with its columns and partition keys.
    pub async fn put_table(&self, table: &Table, exists: bool) -> Result<()> {
        let cols = |cols: &[Column]| -> Vec<Value> {
            cols.iter()
                .map(|c| json!({"Name": c.name, "Type": c.kind}))
                .collect()
        };
        let input = json!({
            "Name": table.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", "fastlane": "1"},
            "PartitionKeys": cols(&table.partition_keys),
            "StorageDescriptor": {
                "Columns": cols(&table.columns),
                "Location": table.location,
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                    "Parameters": {"serialization.format": "1"}
                }
            }
        });
        let request = json!({"DatabaseName": table.database, "TableInput": input});
        let call = |operation: &'static str| self.api.call(operation, &request);
        let outcome = if exists {
            call("UpdateTable").await
        } else {
            match call("CreateTable").await {
                // Created by another run, or by a retried call whose first answer was lost.
                Err(e) if e.code == "AlreadyExistsException" => call("UpdateTable").await,
                other => other,
            }
        };
        outcome.map(|_| ()).map_err(|e| {
            let verb = if exists { "updating" } else { "creating" };
            failed(format!("{verb} Glue table {}", table.qualified()), e)
        })
    }

    /// Register `partitions` of the table; ones the catalog already has are fine.
    pub async fn add_partitions(&self, table: &Table, partitions: &[Partition]) -> Result<()> {
        for chunk in partitions.chunks(PARTITION_BATCH) {
            let list: Vec<Value> = chunk
                .iter()
                .map(|p| {
                    json!({
                        "Values": p.values,
                        "StorageDescriptor": {
                            "Columns": table
                                .columns
                                .iter()
                                .map(|c| json!({"Name": c.name, "Type": c.kind}))
                                .collect::<Vec<_>>(),
                            "Location": p.location,
                            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}
                        }
                    })
                })
                .collect();
            let answer = self
                .api
                .call(
                    "BatchCreatePartition",
                    &json!({
                        "DatabaseName": table.database,
                        "TableName": table.name,
                        "PartitionInputList": list,
                    }),
                )
                .await
                .map_err(|e| {
                    failed(
                        format!("registering partitions of Glue table {}", table.qualified()),
                        e,
                    )
                })?;
            let refused: Vec<String> = answer["Errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException")
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["PartitionValues"],
                        e["ErrorDetail"]["ErrorMessage"]
                            .as_str()
                            .unwrap_or("refused")
                    )
                })
                .collect();
            if !refused.is_empty() {
                return Err(ConnectorError::Other(format!(
                    "registering partitions of Glue table {}: {}",
                    table.qualified(),
                    refused.join("; ")
                )));
            }
        }
        Ok(())
    }

    /// Start the crawler `name`. One already running may have listed the folders before the
    /// new objects were there, so the start is retried until it stops (5 minutes at most).
    pub async fn start_crawler(&self, name: &str) -> Result<()> {
        for attempt in 0..30 {
            match self.api.call("StartCrawler", &json!({"Name": name})).await {
                Ok(_) => return Ok(()),
                Err(e) if e.code == "CrawlerRunningException" => {
                    if attempt == 0 {
                        tracing::info!(
                            "Glue crawler {name} is running; starting it again when it stops"
                        );
                    }
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                Err(e) => return Err(failed(format!("starting Glue crawler {name}"), e)),
            }
        }
        Err(ConnectorError::Other(format!(
            "Glue crawler {name} kept running for 5 minutes and could not be started for this \
             run's objects (start it once it stops, or let its schedule find them)"
        )))
    }
}

/// A catalog type name in canonical form: lower case, no spaces (`DECIMAL(10, 2)` →
/// `decimal(10,2)`), `integer` as `int`.
pub fn normalize(kind: &str) -> String {
    let kind: String = kind
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    match kind.as_str() {
        "integer" => "int".to_string(),
        "decimal" => "decimal(10,0)".to_string(),
        _ => kind,
    }
}

/// The catalog type for an Arrow type, and the Arrow type the objects hold for it (the same,
/// except where Parquet readers of the catalog need another: unsigned integers widen, times and
/// nulls become strings). `Err` names what has no catalog type.
pub fn catalog_type(data_type: &DataType) -> std::result::Result<(String, DataType), String> {
    use DataType::*;
    let same = |name: &str| Ok((name.to_string(), data_type.clone()));
    match data_type {
        Boolean => same("boolean"),
        Int8 => same("tinyint"),
        Int16 => same("smallint"),
        Int32 => same("int"),
        Int64 => same("bigint"),
        UInt8 => Ok(("smallint".into(), Int16)),
        UInt16 => Ok(("int".into(), Int32)),
        UInt32 => Ok(("bigint".into(), Int64)),
        UInt64 => Ok(("decimal(20,0)".into(), Decimal128(20, 0))),
        Float16 => Ok(("float".into(), Float32)),
        Float32 => same("float"),
        Float64 => same("double"),
        Utf8 | LargeUtf8 | Utf8View => same("string"),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => same("binary"),
        Date32 => same("date"),
        Date64 => Ok(("date".into(), Date32)),
        Timestamp(_, _) => same("timestamp"),
        Time32(_) | Time64(_) | Duration(_) | Interval(_) | Null => Ok(("string".into(), Utf8)),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) if *s >= 0 => {
            Ok((format!("decimal({p},{s})"), Decimal128(*p, *s)))
        }
        Decimal256(p, s) if *p <= 38 && *s >= 0 => {
            Ok((format!("decimal({p},{s})"), Decimal128(*p, *s)))
        }
        List(f) | LargeList(f) | ListView(f) | LargeListView(f) | FixedSizeList(f, _) => {
            match catalog_type(f.data_type())? {
                (inner, written) if &written == f.data_type() => same(&format!("array<{inner}>")),
                _ => Err(format!("a list of {}", f.data_type())),
            }
        }
        Struct(fields) => {
            let mut parts = Vec::new();
            for f in fields {
                match catalog_type(f.data_type())? {
                    (inner, written) if &written == f.data_type() => {
                        parts.push(format!("{}:{inner}", f.name().to_ascii_lowercase()))
                    }
                    _ => {
                        return Err(format!(
                            "a struct field `{}` of {}",
                            f.name(),
                            f.data_type()
                        ))
                    }
                }
            }
            same(&format!("struct<{}>", parts.join(",")))
        }
        other => Err(other.to_string()),
    }
}

/// The Arrow type objects should hold for a catalog type, where fastlane can convert to it
/// (primitive types; `None` for nested ones and names it does not know).
pub fn arrow_type(kind: &str) -> Option<DataType> {
    let kind = normalize(kind);
    let args = |name: &str| -> Option<Vec<u32>> {
        let inner = kind
            .strip_prefix(name)?
            .strip_prefix('(')?
            .strip_suffix(')')?;
        inner.split(',').map(|n| n.parse().ok()).collect()
    };
    Some(match kind.as_str() {
        "boolean" => DataType::Boolean,
        "tinyint" => DataType::Int8,
        "smallint" => DataType::Int16,
        "int" => DataType::Int32,
        "bigint" => DataType::Int64,
        "float" | "real" => DataType::Float32,
        "double" => DataType::Float64,
        "string" => DataType::Utf8,
        "binary" => DataType::Binary,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => {
            if let Some(a) = args("decimal") {
                match a[..] {
                    [p, s] if (1..=38).contains(&p) && s <= p => {
                        DataType::Decimal128(p as u8, s as i8)
                    }
                    [p] if (1..=38).contains(&p) => DataType::Decimal128(p as u8, 0),
                    _ => return None,
                }
            } else if args("varchar").is_some() || args("char").is_some() {
                DataType::Utf8
            } else {
                return None;
            }
        }
    })
}

/// Why converting `from` to `to` could change a value, if it could. The conversions allowed
/// either keep every value exactly or fail on the one that does not fit (casts run with
/// `safe = false`); rounding, truncation and reinterpretation are refused.
pub fn lossy(from: &DataType, to: &DataType) -> Option<String> {
    use DataType::*;
    let rank = |unit: &TimeUnit| match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    };
    let scale = |t: &DataType| match t {
        Decimal32(_, s) | Decimal64(_, s) | Decimal128(_, s) | Decimal256(_, s) => Some(*s),
        _ => None,
    };
    let exact_in_double = matches!(from, Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32);
    let exact_in_float = matches!(from, Int8 | Int16 | UInt8 | UInt16);
    let text = matches!(from, Utf8 | LargeUtf8 | Utf8View);
    let ok = match (from, to) {
        // Out-of-range values fail, value by value.
        (f, t) if f.is_integer() && t.is_integer() => true,
        (f, Decimal128(_, _)) if f.is_integer() => true,
        (_, Float64) if exact_in_double => true,
        (_, Float32) if exact_in_float => true,
        (Float16 | Float32, Float64) | (Float16, Float32) => true,
        (f, Decimal128(_, s2)) if scale(f).is_some() => {
            let s1 = scale(f).unwrap_or_default();
            if *s2 < s1 {
                return Some(format!(
                    "decimals with {s1} digits after the point would be rounded to {s2}"
                ));
            }
            true
        }
        (f, t) if t.is_integer() && scale(f) == Some(0) => true,
        (Timestamp(u1, _), Timestamp(u2, _)) => {
            if rank(u2) < rank(u1) {
                return Some(format!("timestamps in {u1:?} would be truncated to {u2:?}"));
            }
            true
        }
        (Date32 | Date64, Date32 | Date64 | Timestamp(_, _)) => true,
        // Text is exact; parsing text fails on what does not parse.
        (_, Utf8) => true,
        (_, Boolean | Date32 | Timestamp(_, _)) if text => true,
        (_, t) if text && t.is_integer() => true,
        _ => false,
    };
    if ok {
        return None;
    }
    Some(match (from, to) {
        (Float16 | Float32 | Float64, t) if t.is_integer() => {
            "floating-point values would be truncated to integers".into()
        }
        (Float16 | Float32 | Float64, Decimal128(_, s)) => {
            format!("floating-point values would be rounded to {s} decimal places")
        }
        (_, Float32 | Float64) => format!("{from} values may not be exact as {to}"),
        (Timestamp(_, _), Date32 | Date64) => "timestamps would lose their time of day".into(),
        (f, Timestamp(_, _)) if f.is_integer() => {
            "integers carry no time unit: convert them to timestamps in a transform".into()
        }
        _ => format!("fastlane converts {from} to {to} only where every value stays exact"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use std::sync::Arc;

    #[test]
    fn catalog_types_round_trip_for_primitive_types() {
        for t in [
            DataType::Boolean,
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::Float32,
            DataType::Float64,
            DataType::Utf8,
            DataType::Binary,
            DataType::Date32,
            DataType::Decimal128(12, 3),
        ] {
            let (name, written) = catalog_type(&t).unwrap();
            assert_eq!(written, t);
            assert_eq!(arrow_type(&name), Some(t), "{name}");
        }
    }

    #[test]
    fn types_readers_cannot_take_are_converted_or_named() {
        assert_eq!(
            catalog_type(&DataType::UInt64).unwrap(),
            ("decimal(20,0)".into(), DataType::Decimal128(20, 0))
        );
        assert_eq!(
            catalog_type(&DataType::Time64(TimeUnit::Microsecond)).unwrap(),
            ("string".into(), DataType::Utf8)
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        assert_eq!(catalog_type(&list).unwrap().0, "array<bigint>");
        let of_times = DataType::List(Arc::new(Field::new(
            "item",
            DataType::Time32(arrow::datatypes::TimeUnit::Second),
            true,
        )));
        assert!(catalog_type(&of_times).is_err());
        assert!(catalog_type(&DataType::Decimal256(60, 2)).is_err());
    }

    #[test]
    fn catalog_type_names_are_read_in_any_spelling() {
        assert_eq!(arrow_type("INTEGER"), Some(DataType::Int32));
        assert_eq!(
            arrow_type("Decimal(10, 2)"),
            Some(DataType::Decimal128(10, 2))
        );
        assert_eq!(arrow_type("decimal"), Some(DataType::Decimal128(10, 0)));
        assert_eq!(arrow_type("varchar(255)"), Some(DataType::Utf8));
        assert_eq!(arrow_type("array<string>"), None);
        assert_eq!(arrow_type("decimal(50,2)"), None);
    }

    #[test]
    fn lossy_conversions_are_named() {
        assert!(lossy(&DataType::Float64, &DataType::Int64).is_some());
        assert!(lossy(&DataType::Float64, &DataType::Decimal128(10, 2)).is_some());
        assert!(lossy(&DataType::Decimal128(10, 4), &DataType::Decimal128(10, 2)).is_some());
        assert!(lossy(&DataType::Decimal128(10, 2), &DataType::Decimal128(12, 4)).is_none());
        assert!(
            lossy(&DataType::Int64, &DataType::Int32).is_none(),
            "checked per value"
        );
        assert!(lossy(
            &DataType::Timestamp(TimeUnit::Nanosecond, None),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        )
        .is_some());
    }

    #[test]
    fn locations_split_into_bucket_and_prefix() {
        assert_eq!(
            split_location("s3://lake/orders/v1/"),
            Some(("lake".into(), "orders/v1".into()))
        );
        assert_eq!(
            split_location("s3://lake"),
            Some(("lake".into(), "".into()))
        );
        assert_eq!(split_location("hdfs://x/y"), None);
    }
}
