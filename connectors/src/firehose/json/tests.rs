//! Rendering of each Arrow type, without a server.

use std::collections::HashMap;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    Decimal256Array, DictionaryArray, FixedSizeBinaryArray, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, Int8Array, LargeBinaryArray, LargeStringArray, ListArray, MapBuilder,
    NullArray, StringArray, StringBuilder, StringViewArray, StructArray, Time32MillisecondArray,
    Time32SecondArray, Time64MicrosecondArray, Time64NanosecondArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt64Array,
    UInt8Array, UnionArray,
};
use arrow::datatypes::{i256, Field, Int32Type, Int8Type, Schema, UnionFields};

use super::*;

/// The records of one single-column batch, as text.
fn render_column(name: &str, array: ArrayRef, decimals: Decimals) -> Vec<String> {
    let schema = Schema::new(vec![Field::new(name, array.data_type().clone(), true)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![array]).unwrap();
    records(&batch, decimals, false)
}

fn records(batch: &RecordBatch, decimals: Decimals, newline: bool) -> Vec<String> {
    let mut out = b"leftover".to_vec();
    let mut ends = Vec::new();
    JsonRows::new(decimals, newline)
        .render(batch, &mut out, &mut ends)
        .unwrap();
    assert_eq!(ends.len(), batch.num_rows());
    let mut start = "leftover".len();
    ends.iter()
        .map(|&end| {
            let record = String::from_utf8(out[start..end].to_vec()).unwrap();
            start = end;
            record
        })
        .collect()
}

fn values(name: &str, array: ArrayRef) -> Vec<String> {
    render_column(name, array, Decimals::String)
        .into_iter()
        .map(|r| {
            let prefix = format!("{{\"{name}\":");
            r.strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{r} is not a one-key object"))
                .to_string()
        })
        .collect()
}

#[test]
fn one_object_per_row_with_keys_in_column_order() {
    let schema = Schema::new(vec![
        Field::new("z", DataType::Int64, false),
        Field::new("a \"quoted\" key", DataType::Utf8, true),
        Field::new("m", DataType::Boolean, true),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from(vec![1, -2])),
            Arc::new(StringArray::from(vec![Some("x"), None])),
            Arc::new(BooleanArray::from(vec![None, Some(false)])),
        ],
    )
    .unwrap();
    assert_eq!(
        records(&batch, Decimals::String, true),
        [
            "{\"z\":1,\"a \\\"quoted\\\" key\":\"x\",\"m\":null}\n",
            "{\"z\":-2,\"a \\\"quoted\\\" key\":null,\"m\":false}\n",
        ]
    );
    assert_eq!(
        records(&batch, Decimals::String, false)[0],
        "{\"z\":1,\"a \\\"quoted\\\" key\":\"x\",\"m\":null}"
    );
}

#[test]
fn numbers() {
    assert_eq!(
        values("v", Arc::new(Int8Array::from(vec![-128, 127]))),
        ["-128", "127"]
    );
    assert_eq!(
        values("v", Arc::new(Int16Array::from(vec![Some(-3), None]))),
        ["-3", "null"]
    );
    assert_eq!(values("v", Arc::new(UInt8Array::from(vec![255]))), ["255"]);
    assert_eq!(
        values("v", Arc::new(UInt64Array::from(vec![u64::MAX]))),
        ["18446744073709551615"]
    );
    assert_eq!(
        values("v", Arc::new(Int64Array::from(vec![i64::MIN]))),
        ["-9223372036854775808"]
    );
    let floats = values(
        "v",
        Arc::new(Float64Array::from(vec![
            1.5,
            -0.25,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
        ])),
    );
    assert_eq!(&floats[..5], ["1.5", "-0.25", "null", "null", "null"]);
    assert_eq!(floats[5].parse::<f64>().unwrap(), 1e300);
    assert_eq!(
        values("v", Arc::new(Float32Array::from(vec![0.5, f32::NAN]))),
        ["0.5", "null"]
    );
}

#[test]
fn strings_and_binary() {
    let text = "quote \" backslash \\ newline \n tab \t ünïcödé 🚀 \u{1}";
    let expected = serde_json::Value::from(text).to_string();
    assert_eq!(
        values("v", Arc::new(StringArray::from(vec![text]))),
        std::slice::from_ref(&expected)
    );
    assert_eq!(
        values("v", Arc::new(LargeStringArray::from(vec![text]))),
        std::slice::from_ref(&expected)
    );
    assert_eq!(
        values("v", Arc::new(StringViewArray::from(vec![text]))),
        [expected]
    );

    let bytes: &[u8] = b"\x00\xffhello";
    let b64 = "\"AP9oZWxsbw==\"";
    assert_eq!(
        values("v", Arc::new(BinaryArray::from(vec![Some(bytes), None]))),
        [b64, "null"]
    );
    assert_eq!(
        values("v", Arc::new(LargeBinaryArray::from(vec![bytes]))),
        [b64]
    );
    let fixed = FixedSizeBinaryArray::try_from_iter(std::iter::once(bytes)).unwrap();
    assert_eq!(values("v", Arc::new(fixed)), [b64]);
}

#[test]
fn decimals_keep_their_scale() {
    let d128 = Decimal128Array::from(vec![Some(1250), Some(-5), None, Some(0)])
        .with_precision_and_scale(10, 2)
        .unwrap();
    assert_eq!(
        values("v", Arc::new(d128.clone())),
        ["\"12.50\"", "\"-0.05\"", "null", "\"0.00\""]
    );
    let numbers = render_column("v", Arc::new(d128), Decimals::Number);
    assert_eq!(numbers[0], "{\"v\":12.50}");
    assert_eq!(numbers[1], "{\"v\":-0.05}");
    let parsed: serde_json::Value = serde_json::from_str(&numbers[0]).unwrap();
    assert_eq!(parsed["v"].as_f64(), Some(12.5));

    let big = Decimal256Array::from(vec![i256::from_i128(
        123_456_789_012_345_678_901_234_567_890,
    )])
    .with_precision_and_scale(40, 10)
    .unwrap();
    assert_eq!(
        values("v", Arc::new(big)),
        ["\"12345678901234567890.1234567890\""]
    );
}

#[test]
fn dates_and_times() {
    // 2026-11-22 is day 20779 of the Unix epoch.
    assert_eq!(
        values(
            "v",
            Arc::new(Date32Array::from(vec![Some(20779), None, Some(0)]))
        ),
        ["\"2026-11-22\"", "null", "\"1970-01-01\""]
    );
    assert_eq!(
        values("v", Arc::new(Date64Array::from(vec![20779 * 86_400_000]))),
        ["\"2026-11-22\""]
    );
    let at = 10 * 3600 + 15 * 60 + 30;
    assert_eq!(
        values("v", Arc::new(Time32SecondArray::from(vec![at]))),
        ["\"10:15:30\""]
    );
    assert_eq!(
        values(
            "v",
            Arc::new(Time32MillisecondArray::from(vec![at * 1000 + 123]))
        ),
        ["\"10:15:30.123\""]
    );
    assert_eq!(
        values(
            "v",
            Arc::new(Time64MicrosecondArray::from(vec![
                at as i64 * 1_000_000 + 123_456
            ]))
        ),
        ["\"10:15:30.123456\""]
    );
    assert_eq!(
        values(
            "v",
            Arc::new(Time64NanosecondArray::from(vec![
                at as i64 * 1_000_000_000 + 1
            ]))
        ),
        ["\"10:15:30.000000001\""]
    );
}

#[test]
fn timestamps_are_rfc3339_in_utc() {
    // 2026-11-22T10:15:30Z
    let s: i64 = 1_795_342_530;
    assert_eq!(
        values(
            "v",
            Arc::new(TimestampSecondArray::from(vec![s]).with_timezone("UTC"))
        ),
        ["\"2026-11-22T10:15:30Z\""]
    );
    assert_eq!(
        values(
            "v",
            Arc::new(TimestampMillisecondArray::from(vec![s * 1000 + 5]).with_timezone("UTC"))
        ),
        ["\"2026-11-22T10:15:30.005Z\""]
    );
    let micros = TimestampMicrosecondArray::from(vec![Some(s * 1_000_000 + 123_456), None]);
    assert_eq!(
        values("v", Arc::new(micros.clone().with_timezone("UTC"))),
        ["\"2026-11-22T10:15:30.123456Z\"", "null"]
    );
    // Another timezone: the same instant, written in UTC.
    assert_eq!(
        values("v", Arc::new(micros.clone().with_timezone("+02:00"))),
        ["\"2026-11-22T10:15:30.123456Z\"", "null"]
    );
    assert_eq!(
        values("v", Arc::new(micros.with_timezone("Europe/Paris"))),
        ["\"2026-11-22T10:15:30.123456Z\"", "null"]
    );
    // No timezone: as stored, no offset.
    assert_eq!(
        values(
            "v",
            Arc::new(TimestampNanosecondArray::from(vec![s * 1_000_000_000 + 7]))
        ),
        ["\"2026-11-22T10:15:30.000000007\""]
    );
    // Before the epoch, the fraction still counts forward.
    assert_eq!(
        values("v", Arc::new(TimestampMillisecondArray::from(vec![-1]))),
        ["\"1969-12-31T23:59:59.999\""]
    );
}

#[test]
fn a_timestamp_out_of_range_fails_the_batch_naming_the_column() {
    let schema = Schema::new(vec![Field::new(
        "at",
        DataType::Timestamp(TimeUnit::Second, None),
        false,
    )]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(TimestampSecondArray::from(vec![0, i64::MAX]))],
    )
    .unwrap();
    let err = JsonRows::new(Decimals::String, true)
        .render(&batch, &mut Vec::new(), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("target.firehose: column `at`"), "{err}");
}

#[test]
fn nested_values() {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None, Some(3)]),
        None,
        Some(vec![]),
    ]);
    assert_eq!(values("v", Arc::new(list)), ["[1,null,3]", "null", "[]"]);

    let inner: ArrayRef = Arc::new(
        Decimal128Array::from(vec![Some(1), None])
            .with_precision_and_scale(5, 1)
            .unwrap(),
    );
    let when: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![0, 1]).with_timezone("UTC"));
    let object = StructArray::from(vec![
        (
            Arc::new(Field::new("d", DataType::Decimal128(5, 1), true)),
            inner,
        ),
        (
            Arc::new(Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            )),
            when,
        ),
    ]);
    assert_eq!(
        values("v", Arc::new(object)),
        [
            "{\"d\":\"0.1\",\"t\":\"1970-01-01T00:00:00.000Z\"}",
            "{\"d\":null,\"t\":\"1970-01-01T00:00:00.001Z\"}"
        ]
    );

    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Array::builder(2));
    map.keys().append_value("a");
    map.values().append_value(1);
    map.keys().append_value("b");
    map.values().append_null();
    map.append(true).unwrap();
    assert_eq!(
        values("v", Arc::new(map.finish())),
        ["{\"a\":1,\"b\":null}"]
    );

    let dict: DictionaryArray<Int8Type> = ["x", "y", "x"].into_iter().collect();
    assert_eq!(values("v", Arc::new(dict)), ["\"x\"", "\"y\"", "\"x\""]);

    assert_eq!(values("v", Arc::new(NullArray::new(2))), ["null", "null"]);
}

#[test]
fn an_unsupported_type_names_the_column() {
    let fields = UnionFields::from_fields([Field::new("a", DataType::Int32, false)]);
    let union = UnionArray::try_new(
        fields,
        vec![0_i8, 0].into(),
        None,
        vec![Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef],
    )
    .unwrap();
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("choice", union.data_type().clone(), false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(Int32Array::from(vec![1, 2])), Arc::new(union)],
    )
    .unwrap();
    let err = JsonRows::new(Decimals::String, true)
        .render(&batch, &mut Vec::new(), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("target.firehose: column `choice` (Union"),
        "{err}"
    );
}

#[test]
fn field_metadata_does_not_change_the_output() {
    let field = Field::new("id", DataType::Int64, false).with_metadata(HashMap::from([(
        crate::KEY_METADATA.to_string(),
        "true".to_string(),
    )]));
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![field])),
        vec![Arc::new(Int64Array::from(vec![7]))],
    )
    .unwrap();
    assert_eq!(records(&batch, Decimals::String, false), ["{\"id\":7}"]);
}
