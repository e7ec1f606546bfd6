//! Comparing a transform's output with an expected table (`fastlane transform test --expect`).

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::{cast_with_options, concat_batches, CastOptions};
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// `Ok` when `actual` and `expected` hold the same columns (names, in order) and the same rows
/// and values; the expected columns are read as the actual columns' types first, since a CSV
/// file only approximates them. `Err` says where the first difference is.
pub(crate) fn same_table(actual: &[RecordBatch], expected: &[RecordBatch]) -> Result<(), String> {
    let actual = one_batch(actual).map_err(|e| format!("cannot combine the output: {e}"))?;
    let expected =
        one_batch(expected).map_err(|e| format!("cannot combine the expected rows: {e}"))?;
    let (actual, expected) = match (actual, expected) {
        (None, None) => return Ok(()),
        (Some(a), None) if a.num_rows() == 0 => return Ok(()),
        (None, Some(e)) if e.num_rows() == 0 => return Ok(()),
        (Some(a), None) => return Err(format!("expected no rows, got {}", a.num_rows())),
        (None, Some(e)) => return Err(format!("expected {} rows, got none", e.num_rows())),
        (Some(a), Some(e)) => (a, e),
    };
    let names = |b: &RecordBatch| -> Vec<String> {
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    if names(&actual) != names(&expected) {
        return Err(format!(
            "columns differ: expected {:?}, got {:?}",
            names(&expected),
            names(&actual)
        ));
    }
    if actual.num_rows() != expected.num_rows() {
        return Err(format!(
            "expected {} rows, got {}",
            expected.num_rows(),
            actual.num_rows()
        ));
    }
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    for (i, field) in actual.schema().fields().iter().enumerate() {
        let got = actual.column(i);
        let want = expected.column(i);
        let want = if want.data_type() == got.data_type() {
            want.clone()
        } else {
            cast_with_options(want, got.data_type(), &strict).map_err(|e| {
                format!(
                    "column `{}`: the expected values ({}) cannot be read as the output's type {}: {e}",
                    field.name(),
                    want.data_type(),
                    got.data_type()
                )
            })?
        };
        if let Some(row) = first_difference(got, &want) {
            return Err(format!(
                "column `{}` row {row}: expected {}, got {}",
                field.name(),
                show(&want, row),
                show(got, row)
            ));
        }
    }
    Ok(())
}

fn one_batch(batches: &[RecordBatch]) -> Result<Option<RecordBatch>, arrow::error::ArrowError> {
    match batches.first() {
        None => Ok(None),
        Some(first) => concat_batches(&first.schema(), batches).map(Some),
    }
}

/// The first row where the two arrays (of one type and length) differ.
fn first_difference(a: &ArrayRef, b: &ArrayRef) -> Option<usize> {
    if a.to_data() == b.to_data() {
        return None;
    }
    (0..a.len()).find(|&row| a.slice(row, 1).to_data() != b.slice(row, 1).to_data())
}

fn show(array: &ArrayRef, row: usize) -> String {
    if array.is_null(row) {
        return "null".into();
    }
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(f) => format!("{:?}", f.value(row).to_string()),
        Err(_) => "(unprintable)".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn table(ids: Vec<i64>, names: Vec<Option<&str>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn equal_tables_match_across_batch_boundaries() {
        let whole = table(vec![1, 2, 3], vec![Some("a"), None, Some("日本")]);
        let parts = [whole.slice(0, 1), whole.slice(1, 2)];
        assert_eq!(same_table(&parts, &[whole]), Ok(()));
    }

    #[test]
    fn differences_name_column_and_row() {
        let got = table(vec![1, 2], vec![Some("a"), Some("b")]);
        let want = table(vec![1, 2], vec![Some("a"), None]);
        let err = same_table(std::slice::from_ref(&got), &[want]).unwrap_err();
        assert!(
            err.contains("`name` row 1") && err.contains("null"),
            "{err}"
        );
        let err = same_table(std::slice::from_ref(&got), &[got.slice(0, 1)]).unwrap_err();
        assert!(err.contains("expected 1 rows, got 2"), "{err}");
        let err = same_table(std::slice::from_ref(&got), &[]).unwrap_err();
        assert!(err.contains("expected no rows"), "{err}");
    }

    #[test]
    fn expected_values_are_read_as_the_output_types() {
        // A CSV gives Int64 where the transform wrote Int32.
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int32, true)]));
        let got =
            RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![7, 8]))]).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let want =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![7, 8]))]).unwrap();
        assert_eq!(same_table(std::slice::from_ref(&got), &[want]), Ok(()));
        let schema = Arc::new(Schema::new(vec![Field::new("m", DataType::Int32, true)]));
        let renamed =
            RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![7, 8]))]).unwrap();
        assert!(same_table(&[got], &[renamed])
            .unwrap_err()
            .contains("columns differ"));
    }
}
