//! The same `filter` and `mask` written in Rust, Python, JavaScript and C
//! (`transforms/README.md`) give identical output through `fastlane run`: same schema (field
//! metadata and nullability included), same rows, same values and nulls, bit for bit.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::*;
use arrow::compute::{sort_to_indices, take_record_batch};
use arrow::datatypes::*;
use common::*;
use serde_json::{json, Value};

/// The other languages' builds, compared with the Rust one (`filter.wasm`, `mask.wasm`).
const LANGUAGES: [&str; 3] = ["py", "js", "c"];

/// `v`, or null in every seventh row.
fn opt<T>(i: usize, v: T) -> Option<T> {
    (i % 7 != 3).then_some(v)
}

/// The input every language reads: the columns of `transforms/README.md`, with NaN, ±0.0,
/// ±inf, 4-byte UTF-8, empty strings, and nulls in every nullable column.
fn conformance_input() -> RecordBatch {
    let n = 43usize;
    let pick_f64 = [
        1.5,
        f64::NAN,
        -0.0,
        0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        100.25,
        -7.0,
        1.0,
        2.5e300,
        f64::MIN_POSITIVE,
    ];
    let names = [
        "ada",
        "",
        "Grace",
        "ümlaut",
        "日本",
        "emoji 😀",
        "zed",
        "m",
        "100",
        "true",
    ];
    let metadata = |key: &str, value: &str| {
        std::collections::HashMap::from([(key.to_string(), value.to_string())])
    };
    let fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("i8", DataType::Int8, true),
        Field::new("i16", DataType::Int16, true),
        Field::new("i32", DataType::Int32, true),
        Field::new("u8", DataType::UInt8, true),
        Field::new("u16", DataType::UInt16, true),
        Field::new("u32", DataType::UInt32, true),
        Field::new("u64", DataType::UInt64, true),
        Field::new("f32", DataType::Float32, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("name", DataType::Utf8, true)
            .with_metadata(metadata("comment", "customer name")),
        Field::new("email", DataType::Utf8, true),
        Field::new("note", DataType::LargeUtf8, true),
        Field::new("blob", DataType::Binary, true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "local",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
        Field::new("price", DataType::Decimal128(12, 2), true),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values((0..n).map(|i| i as i64))),
        Arc::new(Int8Array::from_iter(
            (0..n).map(|i| opt(i, [i8::MIN, -1, 0, 1, 2, i8::MAX][i % 6])),
        )),
        Arc::new(Int16Array::from_iter(
            (0..n).map(|i| opt(i, [i16::MIN, -300, 0, 2, i16::MAX][i % 5])),
        )),
        Arc::new(Int32Array::from_iter(
            (0..n).map(|i| opt(i, [i32::MIN, 1, 2, 3, i32::MAX][i % 5])),
        )),
        Arc::new(UInt8Array::from_iter(
            (0..n).map(|i| opt(i, [0, 1, 200, 255][i % 4])),
        )),
        Arc::new(UInt16Array::from_iter(
            (0..n).map(|i| opt(i, [0, 300, u16::MAX][i % 3])),
        )),
        Arc::new(UInt32Array::from_iter(
            (0..n).map(|i| opt(i, [0, 7, u32::MAX][i % 3])),
        )),
        Arc::new(UInt64Array::from_iter((0..n).map(|i| {
            opt(
                i,
                [0, 9_007_199_254_740_993, 9_007_199_254_740_992, u64::MAX][i % 4],
            )
        }))),
        Arc::new(Float32Array::from_iter((0..n).map(|i| {
            opt(i, [0.1f32, -0.0, f32::NAN, 1.5, f32::MAX, -2.5][i % 6])
        }))),
        Arc::new(Float64Array::from_iter(
            (0..n).map(|i| opt(i, pick_f64[i % pick_f64.len()])),
        )),
        Arc::new(BooleanArray::from_iter((0..n).map(|i| opt(i, i % 3 == 0)))),
        Arc::new(StringArray::from_iter(
            (0..n).map(|i| opt(i, names[i % names.len()])),
        )),
        Arc::new(StringArray::from_iter(
            (0..n).map(|i| opt(i, format!("user{i}@example.com"))),
        )),
        Arc::new(LargeStringArray::from_iter(
            (0..n).map(|i| opt(i, ["note", "naïve café", "", "𝄞 clef"][i % 4])),
        )),
        Arc::new(BinaryArray::from_iter(
            (0..n).map(|i| opt(i, vec![0u8, 255, i as u8])),
        )),
        Arc::new(Date32Array::from_iter((0..n).map(|i| {
            opt(i, [-719_162, 0, 18_262, 20_000, 2_932_896][i % 5])
        }))),
        Arc::new(
            TimestampMicrosecondArray::from_iter((0..n).map(|i| {
                opt(
                    i,
                    [-62_135_596_800_000_000, 0, 1_700_000_000_123_456][i % 3],
                )
            }))
            .with_timezone("UTC"),
        ),
        Arc::new(TimestampMillisecondArray::from_iter(
            (0..n).map(|i| opt(i, [1, 1_600_000_000_001][i % 2])),
        )),
        Arc::new(
            Decimal128Array::from_iter(
                (0..n).map(|i| opt(i, [-125i128, 0, 99_999_999_999, 1][i % 4])),
            )
            .with_precision_and_scale(12, 2)
            .unwrap(),
        ),
    ];
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// Run `component` with `config` over `input.parquet` in `dir`; the output, or the failed run.
fn run(
    dir: &Path,
    component: &str,
    config: &Value,
    batch_size: usize,
    workers: usize,
) -> Result<RecordBatch, std::process::Output> {
    let out_file = format!("out-{component}.parquet");
    let _ = std::fs::remove_file(dir.join(&out_file));
    let pipeline = json!({
        // Some cases keep no row at all: the same empty output in every language.
        "allow_empty": true,
        "source": { "file": { "path": "input.parquet", "batch_size": batch_size } },
        "transform": {
            "wasm": wasm(component),
            "concurrency": workers,
            "config": config,
            // The JavaScript engine has no JIT; nothing here is large, but leave it room.
            "limits": { "call_timeout_ms": 120000 }
        },
        "target": { "file": { "path": out_file } }
    });
    let out = run_config(dir, &pipeline, &[]);
    if out.status.code() == Some(0) {
        Ok(read_parquet(&dir.join(&out_file)))
    } else {
        Err(out)
    }
}

fn input_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(&dir.path().join("input.parquet"), &[conformance_input()]);
    dir
}

/// Every language's output equals the Rust one for each config, over batches of 7 rows.
fn same_everywhere(transform: &str, configs: &[Value]) {
    let dir = input_dir();
    for config in configs {
        let reference = run(dir.path(), transform, config, 7, 1)
            .unwrap_or_else(|out| panic!("rust {transform} {config}\n{}", text(&out)));
        // Every case changes something (drops rows, or masks values), so equal outputs mean
        // the languages did the same work, not that they all did nothing.
        assert_ne!(
            reference,
            conformance_input(),
            "{transform} {config} changed nothing"
        );
        for lang in LANGUAGES {
            let component = format!("{transform}-{lang}");
            let out = run(dir.path(), &component, config, 7, 1)
                .unwrap_or_else(|out| panic!("{component} {config}\n{}", text(&out)));
            assert_eq!(
                out.schema(),
                reference.schema(),
                "{component} {config}: schema differs from the Rust {transform}"
            );
            assert_eq!(
                out, reference,
                "{component} {config}: rows differ from the Rust {transform}"
            );
        }
    }
}

/// Every language refuses `config` the same way: a failed run naming the kind and `needle`.
fn same_refusal(transform: &str, config: &Value, kind: &str, needle: &str) {
    let dir = input_dir();
    for component in std::iter::once(transform.to_string())
        .chain(LANGUAGES.iter().map(|l| format!("{transform}-{l}")))
    {
        match run(dir.path(), &component, config, 7, 1) {
            Ok(_) => panic!("{component} accepted {config}"),
            Err(out) => assert_fails(&out, 1, &[kind, needle]),
        }
    }
}

#[test]
fn filter_keeps_the_same_rows_in_every_language() {
    let cases = [
        json!({ "column": "amount", "op": "gt", "value": 1 }),
        json!({ "column": "amount", "op": "le", "value": 0 }),
        json!({ "column": "amount", "op": "eq", "value": -0.0 }),
        json!({ "column": "amount", "op": "ge", "value": "NaN" }),
        json!({ "column": "amount", "op": "lt", "value": "-inf" }),
        json!({ "column": "f32", "op": "eq", "value": 0.1 }),
        json!({ "column": "f32", "op": "gt", "value": 0.1 }),
        json!({ "column": "i32", "op": "lt", "value": 2.5 }),
        json!({ "column": "i8", "op": "ne", "value": -1 }),
        json!({ "column": "i16", "op": "ge", "value": "-300" }),
        json!({ "column": "u8", "op": "gt", "value": 300 }),
        json!({ "column": "u32", "op": "gt", "value": -1 }),
        json!({ "column": "u64", "op": "gt", "value": 9_007_199_254_740_992u64 }),
        json!({ "column": "u64", "op": "eq", "value": "18446744073709551615" }),
        json!({ "column": "id", "op": "le", "value": "10" }),
        json!({ "column": "name", "op": "eq", "value": "" }),
        json!({ "column": "name", "op": "gt", "value": "m" }),
        json!({ "column": "name", "op": "eq", "value": 100 }),
        json!({ "column": "name", "op": "eq", "value": true }),
        json!({ "column": "note", "op": "lt", "value": "naïve" }),
        json!({ "column": "flag", "op": "eq", "value": true }),
        json!({ "column": "flag", "op": "ne", "value": "false" }),
        json!({ "column": "day", "op": "ge", "value": "2020-01-01" }),
        json!({ "column": "name", "op": "is_null" }),
        json!({ "column": "amount", "op": "is_not_null" }),
    ];
    same_everywhere("filter", &cases);
}

#[test]
fn mask_writes_the_same_values_in_every_language() {
    let cases = [
        json!({ "columns": ["name", "email"] }),
        json!({ "columns": ["note"], "method": "hash", "salt": "s€lt" }),
        json!({ "columns": ["name"], "method": "redact" }),
        json!({ "columns": ["email", "note"], "method": "redact", "replacement": "<x>" }),
    ];
    same_everywhere("mask", &cases);
}

#[test]
fn every_language_refuses_the_same_mistakes() {
    same_refusal(
        "filter",
        &json!({ "column": "amount", "op": "gt", "value": "lots" }),
        "invalid-config",
        "amount",
    );
    same_refusal(
        "filter",
        &json!({ "column": "nope", "op": "eq", "value": 1 }),
        "invalid-input",
        "nope",
    );
    same_refusal(
        "mask",
        &json!({ "columns": ["nope"] }),
        "invalid-input",
        "nope",
    );
    same_refusal("mask", &json!({ "columns": ["id"] }), "invalid-input", "id");
}

#[test]
fn every_language_checks_its_config_against_the_same_schema() {
    // Refused by each component's `describe` schema before any data moves (exit code 2).
    let dir = input_dir();
    for (transform, config, key) in [
        (
            "filter",
            json!({ "column": "id", "op": "like", "value": 1 }),
            "op",
        ),
        ("filter", json!({ "column": "id", "op": "gt" }), "value"),
        (
            "mask",
            json!({ "columns": ["name"], "method": "rot13" }),
            "method",
        ),
        ("mask", json!({ "columns": ["name"], "extra": 1 }), "extra"),
    ] {
        for component in std::iter::once(transform.to_string())
            .chain(LANGUAGES.iter().map(|l| format!("{transform}-{l}")))
        {
            match run(dir.path(), &component, &config, 7, 1) {
                Ok(_) => panic!("{component} accepted {config}"),
                Err(out) => assert_fails(&out, 2, &["transform.config", key]),
            }
        }
    }
}

#[test]
fn two_workers_and_one_batch_give_the_same_rows() {
    let dir = input_dir();
    let config = json!({ "column": "amount", "op": "ge", "value": 0 });
    let by_id = |batch: RecordBatch| {
        let order = sort_to_indices(batch.column(0), None, None).unwrap();
        take_record_batch(&batch, &order).unwrap()
    };
    let reference = by_id(run(dir.path(), "filter", &config, 43, 1).unwrap());
    for lang in LANGUAGES {
        let component = format!("filter-{lang}");
        let out = run(dir.path(), &component, &config, 5, 2)
            .unwrap_or_else(|out| panic!("{component}\n{}", text(&out)));
        assert_eq!(by_id(out), reference, "{component} over 2 workers");
    }
}
