use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use serde_json::json;

use super::*;

async fn open_source(config: serde_json::Value) -> Result<Box<dyn Source>> {
    crate::test_util::open_source("file", config, SourceContext::default()).await
}

async fn read(config: serde_json::Value) -> Result<Vec<RecordBatch>> {
    let mut source = open_source(config).await?;
    let mut batches = Vec::new();
    while let Some(batch) = source.extract().await? {
        batches.push(batch);
    }
    Ok(batches)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn int_column(batches: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            let column = b
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            column.iter().collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn glob_reads_matching_files_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    // Written out of order; a hidden temp file and a file of another extension must be skipped.
    write(&dir.path().join("b.csv"), "id,name\n3,c\n4,d\n");
    write(&dir.path().join("a.csv"), "id,name\n1,a\n2,b\n");
    write(&dir.path().join("c.csv"), "id,name\n5,e\n");
    write(
        &dir.path().join(".c.csv.fastlane-tmp-run"),
        "id,name\n99,zz\n",
    );
    write(&dir.path().join("d.txt"), "id,name\n98,yy\n");
    let pattern = format!("{}/*.csv", dir.path().display());
    let batches = read(json!({ "path": pattern, "batch_size": 1 }))
        .await
        .unwrap();
    assert_eq!(batches.len(), 5);
    assert_eq!(
        int_column(&batches, "id"),
        (1..=5).map(Some).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn schema_mismatch_across_files_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("1.csv"), "id,name\n1,a\n");
    write(&dir.path().join("2.csv"), "id,label\n2,b\n");
    let err = read(json!({ "path": format!("{}/*.csv", dir.path().display()) }))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, ConnectorError::Schema { path, .. } if path.ends_with("2.csv")),
        "{text}"
    );
    assert!(
        text.contains("1.csv") && text.contains("`name`") && text.contains("`label`"),
        "{text}"
    );

    // A type conflict inference cannot widen (text would hold both: `x` makes the column text).
    write(&dir.path().join("2.csv"), "id,name\ntrue,b\n");
    let err = read(json!({ "path": format!("{}/*.csv", dir.path().display()) }))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Schema { path, .. } if path.ends_with("2.csv")),
        "{err}"
    );
    assert!(
        err.to_string().contains("column 1: expected `id`: Int64"),
        "{err}"
    );
}

#[tokio::test]
async fn parquet_schema_mismatch_names_the_file() {
    use parquet::arrow::ArrowWriter;
    let dir = tempfile::tempdir().unwrap();
    for (name, array) in [
        (
            "a.parquet",
            Arc::new(Int64Array::from(vec![1])) as arrow::array::ArrayRef,
        ),
        (
            "b.parquet",
            Arc::new(Float64Array::from(vec![1.0])) as arrow::array::ArrayRef,
        ),
    ] {
        let batch = RecordBatch::try_from_iter([("x", array)]).unwrap();
        let file = File::create(dir.path().join(name)).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let err = read(json!({ "path": format!("{}/*.parquet", dir.path().display()) }))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Schema { path, .. } if path.ends_with("b.parquet")),
        "{err}"
    );
    assert!(err.to_string().contains("expected `x`: Int64"), "{err}");
}

#[tokio::test]
async fn csv_types_widen_across_files() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("1.csv"), "id,price,note\n1,2,\n");
    write(&dir.path().join("2.csv"), "id,price,note\n2,2.5,hello\n");
    let batches = read(json!({ "path": format!("{}/*.csv", dir.path().display()) }))
        .await
        .unwrap();
    let schema = batches[0].schema();
    assert_eq!(schema.field(1).data_type(), &DataType::Float64);
    assert_eq!(schema.field(2).data_type(), &DataType::Utf8);
    let prices: Vec<f64> = batches
        .iter()
        .flat_map(|b| {
            b.column(1)
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(prices, vec![2.0, 2.5]);
}

#[tokio::test]
async fn jsonl_files_join_columns_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("1.jsonl"), "{\"id\": 1, \"a\": \"x\"}\n");
    write(&dir.path().join("2.jsonl"), "{\"b\": true, \"id\": 2}\n");
    let batches = read(json!({ "path": format!("{}/*.jsonl", dir.path().display()) }))
        .await
        .unwrap();
    let names: Vec<String> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "a", "b"]);
    assert_eq!(int_column(&batches, "id"), [Some(1), Some(2)]);
    let a = batches[1].column_by_name("a").unwrap();
    assert!(a.is_null(0));
}

#[tokio::test]
async fn missing_file_and_empty_glob_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.parquet");
    let err = read(json!({ "path": missing })).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Io { path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().contains("nope.parquet"), "{err}");

    let pattern = format!("{}/*.csv", dir.path().display());
    let err = read(json!({ "path": pattern })).await.unwrap_err();
    assert_eq!(err.to_string(), format!("no file matches '{pattern}'"));
}

#[tokio::test]
async fn unknown_extension_is_a_config_error() {
    let err = read(json!({ "path": "data/input.txt" })).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Config { path, .. } if path == "source.file.format"),
        "{err}"
    );
    assert!(err.to_string().contains("'data/input.txt'"), "{err}");

    // An explicit format reads any name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.txt");
    write(&path, "a;b\n1;x\n");
    let batches = read(json!({ "path": path, "format": "csv", "delimiter": ";" }))
        .await
        .unwrap();
    assert_eq!(int_column(&batches, "a"), [Some(1)]);
}

#[tokio::test]
async fn config_is_checked_before_reading() {
    for (config, key) in [
        (
            json!({ "path": "a.csv", "delimiter": "é" }),
            "source.file.delimiter",
        ),
        (
            json!({ "path": "a.csv", "delimiter": ";;" }),
            "source.file.delimiter",
        ),
        (
            json!({ "path": "a.csv", "batch_size": 0 }),
            "source.file.batch_size",
        ),
        (
            json!({ "path": "a.csv", "format": "xml" }),
            "source.file.format",
        ),
        (json!({ "path": "a.csv", "bogus": 1 }), "source.file.bogus"),
        (json!({}), "source.file"),
    ] {
        let err = open_source(config.clone())
            .await
            .err()
            .expect("config rejected");
        assert!(
            matches!(&err, ConnectorError::Config { path, .. } if path == key),
            "{config}: {err}"
        );
    }
}

#[tokio::test]
async fn decode_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    write(&path, "id,name\n1,a\n2,b\nthree,c\n");
    let mut source = open_source(json!({ "path": path, "infer_rows": 2 }))
        .await
        .unwrap();
    let err = source.extract().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("bad.csv")
            && text.contains("line 4")
            && text.contains("column `id`")
            && text.contains("\"three\""),
        "{text}"
    );
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
    batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("{name}: {}", batch.schema()))
}

#[tokio::test]
async fn csv_inference_never_changes_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes.csv");
    write(
        &path,
        "zip,id,big,price,precise,flag,day,at\n\
         00501,1,18446744073709551615,1.50,12345678901234567.5,TRUE,2024-02-29,2024-01-01T10:00:00+02:00\n\
         10001,2,1,2,1,false,2024-03-01,2024-01-01T08:00:00Z\n",
    );
    let batches = read(json!({ "path": path })).await.unwrap();
    let b = &batches[0];
    let schema = b.schema();
    let types: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Utf8,
            DataType::Int64,
            DataType::UInt64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Boolean,
            DataType::Date32,
            DataType::Timestamp(arrow::datatypes::TimeUnit::Second, Some("UTC".into())),
        ],
        "{schema}"
    );
    assert_eq!(column::<StringArray>(b, "zip").value(0), "00501");
    assert_eq!(
        column::<arrow::array::UInt64Array>(b, "big").value(0),
        u64::MAX
    );
    assert_eq!(
        column::<StringArray>(b, "precise").value(0),
        "12345678901234567.5"
    );
    let at = column::<arrow::array::TimestampSecondArray>(b, "at");
    assert_eq!(at.value(0), at.value(1), "the same instant in two zones");
}

#[tokio::test]
async fn a_value_past_the_sample_that_its_type_cannot_hold_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.csv");
    let mut text = String::from("id,code\n");
    for i in 1..=50 {
        text.push_str(&format!("{i},{}\n", 100 + i));
    }
    text.push_str("51,00042\n");
    write(&path, &text);
    let err = read(json!({ "path": path, "infer_rows": 10, "batch_size": 7 }))
        .await
        .unwrap_err()
        .to_string();
    for needle in ["late.csv", "line 52", "column `code`", "\"00042\"", "types"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    // Declared as text, the same file reads every value as written.
    let batches = read(json!({ "path": path, "infer_rows": 10, "types": { "code": "string" } }))
        .await
        .unwrap();
    let last = batches.last().unwrap();
    assert_eq!(
        column::<StringArray>(last, "code").value(last.num_rows() - 1),
        "00042"
    );
    // A declared type is held to the same rule.
    let err = read(json!({ "path": path, "types": { "code": "int64" } }))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"00042\"") && err.contains("line 52"),
        "{err}"
    );
    let err = read(json!({ "path": path, "types": { "nope": "int64" } }))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("source.file.types.nope"), "{err}");
}

#[tokio::test]
async fn jsonl_numbers_stay_exact_and_late_keys_are_never_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    write(
        &path,
        "{\"id\": 1, \"n\": 18446744073709551615, \"f\": 0.1, \"o\": {\"u\": 18446744073709551614}}\n\
         {\"id\": 2, \"n\": 5, \"f\": 2, \"o\": {\"u\": 1}}\n",
    );
    let batches = read(json!({ "path": path })).await.unwrap();
    let b = &batches[0];
    assert_eq!(
        column::<arrow::array::UInt64Array>(b, "n").value(0),
        u64::MAX
    );
    let o = column::<arrow::array::StructArray>(b, "o");
    let u = o
        .column_by_name("u")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::UInt64Array>()
        .unwrap();
    assert_eq!(u.value(0), u64::MAX - 1);

    let late = dir.path().join("late.jsonl");
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!("{{\"id\": {i}}}\n"));
    }
    text.push_str("\n{\"id\": 30, \"extra\": \"kept or refused, never dropped\"}\n");
    write(&late, &text);
    let err = read(json!({ "path": late, "infer_rows": 5, "batch_size": 8 }))
        .await
        .unwrap_err()
        .to_string();
    for needle in ["late.jsonl", "line 32", "'extra'", "infer_rows"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }

    let fraction = dir.path().join("fraction.jsonl");
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!("{{\"id\": {i}}}\n"));
    }
    text.push_str("{\"id\": 20.5}\n");
    write(&fraction, &text);
    let err = read(json!({ "path": fraction, "infer_rows": 5 }))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 21") && err.contains("20.5") && err.contains("Int64"),
        "{err}"
    );
}

#[tokio::test]
async fn a_csv_file_without_a_header_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.csv");
    write(&path, "");
    let err = read(json!({ "path": path })).await.unwrap_err().to_string();
    assert!(
        err.contains("zero.csv") && err.contains("no header line"),
        "{err}"
    );
}

#[tokio::test]
async fn headerless_csv_names_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.csv");
    write(&path, "1,Zoë 😀\n2,b\n");
    let batches = read(json!({ "path": path, "has_header": false }))
        .await
        .unwrap();
    let schema = batches[0].schema();
    assert_eq!(schema.field(0).name(), "column_1");
    let names = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(names.value(0), "Zoë 😀");
}

#[tokio::test]
async fn an_empty_file_yields_one_empty_batch_with_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.csv");
    write(&path, "id,name\n");
    let batches = read(json!({ "path": path })).await.unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);
    assert_eq!(batches[0].schema().fields().len(), 2);
}

#[tokio::test]
async fn incremental_resume_is_refused() {
    let context = SourceContext {
        resume_after: Some(crate::Offset::Int(5)),
        ..Default::default()
    };
    let err = crate::test_util::open_source("file", json!({ "path": "a.csv" }), context)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&err, ConnectorError::Config { path, .. } if path == "replication_mode"),
        "{err}"
    );
}
