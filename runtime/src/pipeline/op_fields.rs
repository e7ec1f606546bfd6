//! The original fastlane's operation columns: `_op_type` ('i') and `_op_timestamp` (ms).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;

/// Append `_op_type` = 'i' and `_op_timestamp` = now (ms since the epoch) to `batch`.
pub(crate) fn append(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let rows = batch.num_rows();
    let now = chrono::Utc::now().timestamp_millis();
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new("_op_type", DataType::Utf8, false)));
    fields.push(Arc::new(Field::new(
        "_op_timestamp",
        DataType::Int64,
        false,
    )));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n("i", rows),
    )));
    columns.push(Arc::new(Int64Array::from_value(now, rows)));
    let schema = Schema::new_with_metadata(fields, batch.schema().metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;

    #[test]
    fn appends_both_columns() {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 2, 3]))]).unwrap();
        let out = append(&batch).unwrap();
        assert_eq!(out.num_columns(), 3);
        let op = out
            .column_by_name("_op_type")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(op.iter().all(|v| v == Some("i")));
        let ts = out
            .column_by_name("_op_timestamp")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        assert!(ts
            .iter()
            .all(|v| v.is_some_and(|t| (now - t).abs() < 60_000)));
    }
}
