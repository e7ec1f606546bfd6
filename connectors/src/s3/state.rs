//! The target's state object (`{prefix}/_fastlane_state.json`): the largest key durably
//! written (where an INCREMENTAL run resumes) and the objects fastlane wrote under the prefix
//! (what the next FULL_TABLE run replaces).

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};

use crate::{ConnectorError, Offset, Result};

/// What the state object holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct State {
    /// Format version of this object.
    pub version: u32,
    /// The column the offset is taken from.
    #[serde(default)]
    pub key: Option<String>,
    /// Largest value of `key` written by committed runs.
    #[serde(default)]
    pub offset: Option<Offset>,
    /// The objects of the current content: the last FULL_TABLE run's and the INCREMENTAL
    /// runs' since.
    #[serde(default)]
    pub objects: Vec<String>,
    /// Objects replaced by a FULL_TABLE run but not deleted yet (a deletion failed or the run
    /// stopped): deleted by the next commit.
    #[serde(default)]
    pub retired: Vec<String>,
    /// Objects a commit is completing: once the commit records them in `objects`, this is
    /// empty again; left over, they were never recorded and the next commit deletes them.
    #[serde(default)]
    pub pending: Vec<String>,
    /// A Glue table target's `_table_version` of the last committed FULL_TABLE run, which
    /// INCREMENTAL runs continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_version: Option<i64>,
    /// The run that wrote this state.
    #[serde(default)]
    pub run_id: String,
    /// When, RFC 3339.
    #[serde(default)]
    pub updated_at: String,
}

/// The current format version.
pub(super) const VERSION: u32 = 1;

/// The larger of two offsets (either may be missing).
pub(super) fn larger(a: Option<Offset>, b: Option<Offset>) -> Option<Offset> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The largest non-null value of column `key` in `batch` (None: no rows or all null).
/// Integers are kept as numbers; strings as they are; dates and timestamps as ISO text
/// (`2024-01-31`, `2024-01-31 10:15:30.000000`), which database sources compare as such.
pub(super) fn max_key(batch: &RecordBatch, key: &str) -> Result<Option<Offset>> {
    let schema = batch.schema();
    // Case-insensitive as a fallback: a Glue table's `pk` is matched that way.
    let exact = schema.index_of(key).ok();
    let index = exact
        .or_else(|| {
            schema
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(key))
        })
        .ok_or(())
        .map_err(|_| {
            ConnectorError::config("target.s3.key", format!("no column '{key}' in the batches"))
        })?;
    let column = batch.column(index);
    if column.null_count() == column.len() {
        return Ok(None);
    }
    let arrow_error = |source| ConnectorError::Arrow {
        context: format!("reading the largest '{key}'"),
        source,
    };
    let as_i64 = || -> Result<ArrayRef> {
        arrow::compute::cast(column, &DataType::Int64).map_err(arrow_error)
    };
    Ok(match column.data_type() {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => {
            arrow::compute::max(as_i64()?.as_primitive::<Int64Type>()).map(Offset::Int)
        }
        DataType::UInt64 => arrow::compute::max(column.as_primitive::<UInt64Type>())
            .map(|v| i64::try_from(v).map_or(Offset::UInt(v), Offset::Int)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let values = arrow::compute::cast(column, &DataType::Utf8).map_err(arrow_error)?;
            arrow::compute::max_string(values.as_string::<i32>())
                .map(|s| Offset::Text(s.to_string()))
        }
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => {
            // The largest instant, found on the numbers, then written out once.
            let numbers = as_i64()?;
            let numbers = numbers.as_primitive::<Int64Type>();
            let largest = (0..numbers.len())
                .filter(|&i| numbers.is_valid(i))
                .max_by_key(|&i| numbers.value(i));
            match largest {
                None => None,
                Some(row) => {
                    let options = FormatOptions::default()
                        .with_date_format(Some("%Y-%m-%d"))
                        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.6f"))
                        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.6f"));
                    let formatter =
                        ArrayFormatter::try_new(column.as_ref(), &options).map_err(arrow_error)?;
                    Some(Offset::Text(formatter.value(row).to_string()))
                }
            }
        }
        other => {
            return Err(ConnectorError::Other(format!(
                "s3 target: the offset column '{key}' is {other}: INCREMENTAL offsets are kept for \
                 integer, string, date and timestamp keys"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        Date32Array, Int32Array, StringArray, TimestampMicrosecondArray, UInt64Array,
    };
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn one(name: &str, array: Arc<dyn Array>) -> RecordBatch {
        let schema = Schema::new(vec![Field::new(name, array.data_type().clone(), true)]);
        RecordBatch::try_new(Arc::new(schema), vec![array]).unwrap()
    }

    #[test]
    fn largest_key_by_type() {
        let ints = one(
            "id",
            Arc::new(Int32Array::from(vec![Some(3), None, Some(9), Some(-1)])),
        );
        assert_eq!(max_key(&ints, "id").unwrap(), Some(Offset::Int(9)));
        let big = one("id", Arc::new(UInt64Array::from(vec![1, u64::MAX])));
        assert_eq!(max_key(&big, "id").unwrap(), Some(Offset::UInt(u64::MAX)));
        let text = one("k", Arc::new(StringArray::from(vec!["b", "c", "a"])));
        assert_eq!(max_key(&text, "k").unwrap(), Some(Offset::Text("c".into())));
        let days = one(
            "d",
            Arc::new(Date32Array::from(vec![Some(19_000), None, Some(19_723)])),
        );
        assert_eq!(
            max_key(&days, "d").unwrap(),
            Some(Offset::Text("2024-01-01".into()))
        );
        let at = one(
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![
                1_704_067_200_500_000,
                1_704_067_199_000_000,
            ])),
        );
        assert_eq!(
            max_key(&at, "at").unwrap(),
            Some(Offset::Text("2024-01-01 00:00:00.500000".into()))
        );
        let nulls = one("id", Arc::new(Int32Array::from(vec![None::<i32>, None])));
        assert_eq!(max_key(&nulls, "id").unwrap(), None);
        assert!(max_key(&ints, "other").is_err());
        assert_eq!(
            larger(Some(Offset::Int(3)), Some(Offset::Int(7))),
            Some(Offset::Int(7))
        );
        assert_eq!(larger(None, Some(Offset::Int(7))), Some(Offset::Int(7)));
    }

    #[test]
    fn state_round_trips_as_json() {
        let state = State {
            version: VERSION,
            key: Some("id".into()),
            offset: Some(Offset::Int(42)),
            objects: vec!["a/1.parquet".into()],
            retired: vec![],
            pending: vec![],
            table_version: Some(1_796_000_000),
            run_id: "r".into(),
            updated_at: "2026-11-22T00:00:00Z".into(),
        };
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), state);
    }
}
