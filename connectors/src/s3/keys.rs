//! Object keys: `{prefix}/{YYYY}/{MM}/{DD}/{timestamp}-{uuid}.{ext}` (the original fastlane's
//! layout), or `{prefix}/{col}={value}/…/{timestamp}-{uuid}.{ext}` with Hive-style partitions.

use std::collections::HashMap;

use arrow::array::{ArrayRef, UInt32Array};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, Utc};

use crate::file::format::FileFormat;
use crate::{ConnectorError, Result};

/// The folder Hive (and Spark, Athena, Trino) read as a null partition value.
pub(super) const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The name of the state object under the prefix; the leading underscore makes query engines
/// skip it as a hidden file.
pub(super) const STATE_NAME: &str = "_fastlane_state.json";

/// `{prefix}/{name}`, or `name` when there is no prefix.
pub(super) fn under_prefix(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The key of a new object. `folders` is the partition path (`col=v/…`), or empty for the date
/// folders of `now`. Names start with the time (`20261122T101530.123Z`), or with `micros`, the
/// epoch microseconds (the original layout's Glue tables).
pub(super) fn object_key(
    prefix: &str,
    folders: &str,
    now: DateTime<Utc>,
    format: FileFormat,
    micros: bool,
) -> String {
    let folders = if folders.is_empty() {
        now.format("%Y/%m/%d").to_string()
    } else {
        folders.to_string()
    };
    let time = if micros {
        now.timestamp_micros().to_string()
    } else {
        now.format("%Y%m%dT%H%M%S%.3fZ").to_string()
    };
    let name = format!("{time}-{}.{}", uuid::Uuid::new_v4(), extension(format));
    under_prefix(prefix, &format!("{folders}/{name}"))
}

fn extension(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Parquet => "parquet",
        FileFormat::Jsonl => "jsonl",
        FileFormat::Csv => "csv",
    }
}

/// The Content-Type of an object in `format`.
pub(super) fn content_type(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Parquet => "application/vnd.apache.parquet",
        FileFormat::Jsonl => "application/x-ndjson",
        FileFormat::Csv => "text/csv",
    }
}

/// Split `batch` by the values of `columns`: one `(folders, rows)` per distinct combination,
/// in order of first appearance, the partition columns left out of the rows. Without
/// partition columns, the whole batch under no folder.
pub(super) fn partition(
    batch: &RecordBatch,
    columns: &[String],
) -> Result<Vec<(String, RecordBatch)>> {
    if columns.is_empty() {
        return Ok(vec![(String::new(), batch.clone())]);
    }
    let schema = batch.schema();
    let mut partition_columns = Vec::with_capacity(columns.len());
    for name in columns {
        let index = schema.index_of(name).map_err(|_| {
            ConnectorError::config(
                "target.s3.partition_by",
                format!(
                    "no column '{name}' in the batches (columns: {})",
                    crate::schema::names(&schema)
                ),
            )
        })?;
        partition_columns.push(index);
    }
    let kept: Vec<usize> = (0..batch.num_columns())
        .filter(|i| !partition_columns.contains(i))
        .collect();
    let data = batch
        .project(&kept)
        .map_err(|source| ConnectorError::Arrow {
            context: "partitioning a batch".into(),
            source,
        })?;
    let options = FormatOptions::default();
    let arrays: Vec<&ArrayRef> = partition_columns.iter().map(|&i| batch.column(i)).collect();
    let formatters = arrays
        .iter()
        .map(|a| ArrayFormatter::try_new(a.as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|source| ConnectorError::Arrow {
            context: "rendering partition values".into(),
            source,
        })?;
    let mut order: Vec<String> = Vec::new();
    let mut rows: HashMap<String, Vec<u32>> = HashMap::new();
    let mut folders = String::new();
    for row in 0..batch.num_rows() {
        folders.clear();
        for ((name, array), formatter) in columns.iter().zip(&arrays).zip(&formatters) {
            if !folders.is_empty() {
                folders.push('/');
            }
            folders.push_str(&escape(name));
            folders.push('=');
            let value = (!array.is_null(row)).then(|| formatter.value(row).to_string());
            match value.as_deref() {
                // Hive writes an empty value as a null one (Spark refuses `col=`).
                None | Some("") => folders.push_str(NULL_PARTITION),
                Some(value) => folders.push_str(&escape(value)),
            }
        }
        match rows.get_mut(folders.as_str()) {
            Some(list) => list.push(row as u32),
            None => {
                order.push(folders.clone());
                rows.insert(folders.clone(), vec![row as u32]);
            }
        }
    }
    if order.len() == 1 {
        return Ok(vec![(order.remove(0), data)]);
    }
    order
        .into_iter()
        .map(|folders| {
            let indices = UInt32Array::from(rows.remove(&folders).unwrap_or_default());
            let taken = arrow::compute::take_record_batch(&data, &indices).map_err(|source| {
                ConnectorError::Arrow {
                    context: format!("partitioning a batch into {folders}"),
                    source,
                }
            })?;
            Ok((folders, taken))
        })
        .collect()
}

/// Hive's escaping of a partition name or value: the characters that would break a path or a
/// `col=value` pair become `%XX`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let special = c.is_control()
            || matches!(
                c,
                '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^'
            );
        if special {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A schema without the partition columns (what the objects hold).
#[cfg(test)]
fn data_columns(batch: &RecordBatch) -> Vec<String> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn keys_follow_the_date_layout_or_the_partitions() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:15:30.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let key = object_key("lake/orders", "", now, FileFormat::Parquet, false);
        assert!(
            key.starts_with("lake/orders/2026/11/22/20261122T101530.123Z-")
                && key.ends_with(".parquet"),
            "{key}"
        );
        let key = object_key("", "country=FR", now, FileFormat::Jsonl, false);
        assert!(key.starts_with("country=FR/20261122T101530.123Z-"), "{key}");
        assert!(key.ends_with(".jsonl"), "{key}");
    }

    #[test]
    fn partitions_group_rows_and_escape_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("country", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringArray::from(vec![
                    Some("FR"),
                    None,
                    Some("a/b=c"),
                    Some("FR"),
                ])),
            ],
        )
        .unwrap();
        let parts = partition(&batch, &["country".to_string()]).unwrap();
        let folders: Vec<&str> = parts.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            folders,
            [
                "country=FR",
                "country=__HIVE_DEFAULT_PARTITION__",
                "country=a%2Fb%3Dc"
            ]
        );
        assert_eq!(data_columns(&parts[0].1), ["id"]);
        let ids = parts[0]
            .1
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ids.values(), &[1, 4]);

        let err = partition(&batch, &["nope".to_string()]).unwrap_err();
        assert!(err.to_string().contains("no column 'nope'"), "{err}");
        let whole = partition(&batch, &[]).unwrap();
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].1.num_columns(), 2);
    }
}
