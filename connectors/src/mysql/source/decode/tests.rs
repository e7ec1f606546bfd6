//! Unit tests of the decoder.
use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    i256, ArrowPrimitiveType, Date32Type, Decimal128Type as D128, DurationMicrosecondType, Field,
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Schema,
    TimestampMicrosecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};

use super::*;

const MICRO: DataType = DataType::Duration(TimeUnit::Microsecond);
const DATETIME: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// A decoder over an `id` key column (Int64, first) and `value` columns of `types`.
fn decoder(types: &[DataType], nullable: bool) -> BatchDecoder {
    let mut fields = vec![Field::new("id", DataType::Int64, false)];
    fields.extend(
        types
            .iter()
            .map(|t| Field::new("amount", t.clone(), nullable)),
    );
    BatchDecoder::new(Arc::new(Schema::new(fields)), 0, 4).unwrap()
}

/// The row `(id, value)`.
fn row(id: i64, value: Option<Value>) -> Vec<Option<Value>> {
    vec![Some(Value::Int(id)), value]
}

/// One nullable column of `data_type` decoded from `values`, one row each.
fn column(data_type: DataType, values: Vec<Value>) -> ArrayRef {
    let mut decoder = decoder(&[data_type], true);
    for (id, value) in (0..).zip(values) {
        decoder.push_row(row(id, Some(value))).unwrap();
    }
    decoder.finish().unwrap().column(1).clone()
}

/// The primitive values of [`column`].
fn decoded<T: ArrowPrimitiveType>(data_type: DataType, values: Vec<Value>) -> Vec<T::Native> {
    column(data_type, values)
        .as_primitive::<T>()
        .values()
        .to_vec()
}

fn text(text: &str) -> Value {
    Value::Bytes(text.as_bytes().to_vec())
}

fn date(y: u16, m: u8, d: u8) -> Value {
    Value::Date(y, m, d, 0, 0, 0, 0)
}

#[test]
fn integers_take_int_and_uint_in_range() {
    use Value::{Int, UInt};
    let i8s = decoded::<Int8Type>(DataType::Int8, vec![Int(-128), Int(127), UInt(5)]);
    assert_eq!(i8s, [i8::MIN, i8::MAX, 5]);
    assert_eq!(
        decoded::<Int16Type>(DataType::Int16, vec![Int(-32768)]),
        [i16::MIN]
    );
    assert_eq!(
        decoded::<Int32Type>(DataType::Int32, vec![Int(i32::MAX.into())]),
        [i32::MAX]
    );
    let i64s = decoded::<Int64Type>(DataType::Int64, vec![Int(i64::MIN), UInt(i64::MAX as u64)]);
    assert_eq!(i64s, [i64::MIN, i64::MAX]);
    assert_eq!(
        decoded::<UInt8Type>(DataType::UInt8, vec![UInt(255), Int(0)]),
        [255, 0]
    );
    // YEAR arrives as Int.
    let years = decoded::<UInt16Type>(DataType::UInt16, vec![Int(1901), Int(2155)]);
    assert_eq!(years, [1901, 2155]);
    assert_eq!(
        decoded::<UInt32Type>(DataType::UInt32, vec![UInt(u32::MAX.into())]),
        [u32::MAX]
    );
    // BIGINT UNSIGNED, then BIT(64) all ones, BIT(16) and BIT(1) as big-endian bytes.
    let bits = vec![
        UInt(u64::MAX),
        Value::Bytes(vec![0xff; 8]),
        Value::Bytes(vec![1, 2]),
        Value::Bytes(vec![0]),
    ];
    assert_eq!(
        decoded::<UInt64Type>(DataType::UInt64, bits),
        [u64::MAX, u64::MAX, 0x0102, 0]
    );
}

#[test]
fn floats() {
    use Value::{Double, Float};
    let f32s = vec![
        Float(f32::MAX),
        Float(f32::MIN_POSITIVE),
        Float(-0.0),
        Double(0.5),
    ];
    let f32s = decoded::<Float32Type>(DataType::Float32, f32s);
    assert_eq!(f32s, [f32::MAX, f32::MIN_POSITIVE, -0.0, 0.5]);
    assert!(f32s[2].is_sign_negative());
    let f64s = decoded::<Float64Type>(DataType::Float64, vec![Double(f64::MIN), Float(0.1)]);
    assert_eq!(f64s, [f64::MIN, f64::from(0.1f32)]);
}

#[test]
fn decimal128() {
    let texts = [
        "-0.05",
        "0.00",
        "-0",
        "-123.40",
        "1234567890.12",
        "-9999999999.99",
        "000.10",
        "7",
    ];
    let a = column(DataType::Decimal128(12, 2), texts.map(text).to_vec());
    assert_eq!(a.data_type(), &DataType::Decimal128(12, 2));
    let expected = [-5, 0, 0, -12340, 123456789012, -999999999999, 10, 700];
    assert_eq!(a.as_primitive::<D128>().values(), &expected);
    let max = "9".repeat(38);
    let values = vec![
        text(&max),
        text(&format!("-{max}")),
        text(&format!("{max}.")),
        text("0"),
    ];
    let a = decoded::<D128>(DataType::Decimal128(38, 0), values);
    assert_eq!(
        a,
        [
            10i128.pow(38) - 1,
            1 - 10i128.pow(38),
            10i128.pow(38) - 1,
            0
        ]
    );
    // More than 18 digits with a fraction crosses the u64 chunks.
    let a = decoded::<D128>(
        DataType::Decimal128(30, 10),
        vec![text("-12345678901234567890.0123456789")],
    );
    assert_eq!(a, [-123456789012345678900123456789]);
    // Unusual text goes through arrow's parser; trailing zeros beyond the scale are exact.
    let values = vec![text(".5"), text("+2.5"), text("1.50000"), text(" 3 ")];
    assert_eq!(
        decoded::<D128>(DataType::Decimal128(10, 3), values),
        [500, 2500, 1500, 3000]
    );
}

#[test]
fn decimal256() {
    let (int, frac) = ("9".repeat(35), "1".repeat(30));
    let values = vec![
        text(&format!("-{int}.{frac}")),
        text("0.000000000000000000000000000001"),
    ];
    let a = column(DataType::Decimal256(65, 30), values);
    let a = a.as_primitive::<arrow::datatypes::Decimal256Type>();
    assert_eq!(
        a.value(0),
        i256::from_string(&format!("-{int}{frac}")).unwrap()
    );
    assert_eq!(a.value(1), i256::ONE);
}

#[test]
fn dates_and_times() {
    let days = decoded::<Date32Type>(
        DataType::Date32,
        vec![date(1000, 1, 1), date(9999, 12, 31), date(1970, 1, 2)],
    );
    assert_eq!(days, [-354_285, 2_932_896, 1]);

    let values = || {
        vec![
            Value::Date(2024, 2, 29, 23, 59, 58, 123_456),
            date(1000, 1, 1),
        ]
    };
    let expected = [1_709_251_198_123_456, -30_610_224_000_000_000];
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()));
    for data_type in [DATETIME, utc] {
        let a = column(data_type.clone(), values());
        assert_eq!(a.data_type(), &data_type);
        assert_eq!(
            a.as_primitive::<TimestampMicrosecondType>().values(),
            &expected
        );
    }

    // -838:59:59 and 838:59:59.999999 arrive as 34 days 22 hours; 1 day 2 hours is 26 hours.
    let hour = 3_600_000_000i64;
    let max = 838 * hour + 59 * 60_000_000 + 59_000_000;
    let times = vec![
        Value::Time(true, 34, 22, 59, 59, 0),
        Value::Time(false, 34, 22, 59, 59, 999_999),
        Value::Time(false, 1, 2, 0, 0, 0),
        Value::Time(true, 0, 0, 0, 0, 1),
    ];
    assert_eq!(
        decoded::<DurationMicrosecondType>(MICRO, times),
        [-max, max + 999_999, 26 * hour, -1]
    );
}

#[test]
fn text_and_binary() {
    let a = column(
        DataType::Utf8,
        vec![text("😀 ok"), text(""), Value::NULL, text("{\"a\": 1}")],
    );
    let a = a.as_string::<i32>();
    assert_eq!(
        (a.value(0), a.value(1), a.value(3)),
        ("😀 ok", "", "{\"a\": 1}")
    );
    assert_eq!((a.is_valid(1), a.is_null(2)), (true, true));
    let all: Vec<u8> = (0..=255).collect();
    let a = column(
        DataType::Binary,
        vec![Value::Bytes(all.clone()), Value::Bytes(vec![]), Value::NULL],
    );
    let a = a.as_binary::<i32>();
    assert_eq!((a.value(0), a.value(1)), (&all[..], &[][..]));
    assert_eq!((a.is_valid(1), a.is_null(2)), (true, true));
}

#[test]
fn nulls_everywhere_and_reuse() {
    let types = [
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt8,
        DataType::UInt16,
        DataType::UInt32,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
        DataType::Decimal128(12, 2),
        DataType::Decimal256(65, 30),
        DataType::Date32,
        DATETIME,
        MICRO,
        DataType::Utf8,
        DataType::Binary,
    ];
    let mut decoder = decoder(&types, true);
    for round in 0..2 {
        for id in 0..3 {
            let mut row = vec![Some(Value::Int(id))];
            row.extend((0..types.len()).map(|i| (i % 2 == 0).then_some(Value::NULL)));
            decoder.push_row(row).unwrap();
        }
        assert_eq!(decoder.len(), 3);
        let batch = decoder.finish().unwrap();
        assert_eq!((decoder.len(), batch.num_rows()), (0, 3), "round {round}");
        for (array, data_type) in batch.columns()[1..].iter().zip(&types) {
            assert_eq!((array.data_type(), array.null_count()), (data_type, 3));
        }
    }
    assert_eq!(decoder.finish().unwrap().num_rows(), 0);
}

#[test]
fn finish_twice_keeps_batches_apart() {
    let mut decoder = decoder(&[DataType::Utf8], true);
    decoder.push_row(row(1, Some(text("a")))).unwrap();
    let first = decoder.finish().unwrap();
    decoder.push_row(row(2, Some(text("b")))).unwrap();
    decoder.push_row(row(3, None)).unwrap();
    let second = decoder.finish().unwrap();
    assert_eq!(first.column(0).as_primitive::<Int64Type>().values(), &[1]);
    assert_eq!(first.column(1).as_string::<i32>().value(0), "a");
    assert_eq!(
        second.column(0).as_primitive::<Int64Type>().values(),
        &[2, 3]
    );
    let names = second.column(1).as_string::<i32>();
    assert_eq!((names.value(0), names.is_null(1)), ("b", true));
}

#[test]
fn errors_name_column_key_and_cause() {
    let zero = Some(Value::Date(0, 0, 0, 0, 0, 0, 0));
    let cases = [
        (
            DataType::Utf8,
            Some(Value::Bytes(vec![b'a', 0xff])),
            "not valid UTF-8",
        ),
        (
            DataType::Int8,
            Some(Value::Int(128)),
            "128 is out of range for Arrow Int8",
        ),
        (
            DataType::UInt64,
            Some(Value::Int(-1)),
            "-1 is out of range for Arrow UInt64",
        ),
        (
            DataType::UInt64,
            Some(Value::Bytes(vec![1; 9])),
            "MySQL Bytes value",
        ),
        (
            DataType::Date32,
            zero.clone(),
            "the zero date cannot be represented as Arrow Date32 (MySQL value 0000-00-00 00:00:00.000000)",
        ),
        (DataType::Date32, Some(date(2024, 0, 1)), "zero date"),
        (
            DataType::Date32,
            Some(date(2023, 2, 29)),
            "not a valid date",
        ),
        (
            DataType::Date32,
            Some(Value::Date(2024, 1, 1, 1, 0, 0, 0)),
            "cannot be stored exactly",
        ),
        (
            DATETIME,
            zero,
            "zero date cannot be represented as Arrow Timestamp",
        ),
        (
            DataType::Decimal128(5, 2),
            Some(text("1234.00")),
            "does not fit",
        ),
        (
            DataType::Decimal128(38, 0),
            Some(text(&"9".repeat(39))),
            "does not fit",
        ),
        (
            DataType::Decimal256(65, 30),
            Some(text(&"9".repeat(36))),
            "does not fit",
        ),
        (
            DataType::Decimal128(12, 2),
            Some(text("1.234")),
            "cannot be stored exactly",
        ),
        (
            DataType::Decimal128(12, 2),
            Some(text("12a")),
            "Invalid decimal",
        ),
        (
            DataType::Decimal128(12, 2),
            Some(Value::Double(1.5)),
            "cannot store the MySQL Double value 1.5 as Arrow Decimal128(12, 2)",
        ),
        (
            DataType::Float32,
            Some(Value::Double(0.1)),
            "cannot be stored exactly as Arrow Float32",
        ),
        (
            DataType::Int64,
            Some(text("12")),
            "cannot store the MySQL Bytes value \"12\" as Arrow Int64",
        ),
        (
            MICRO,
            Some(Value::Time(false, u32::MAX, 0, 0, 0, 0)),
            "out of range",
        ),
        (
            DataType::Int32,
            None,
            "NULL in a column that is not nullable",
        ),
        (
            DataType::Utf8,
            Some(Value::NULL),
            "NULL in a column that is not nullable",
        ),
    ];
    for (data_type, value, expected) in cases {
        let nullable = value.as_ref().is_some_and(|v| *v != Value::NULL);
        let mut decoder = decoder(&[data_type], nullable);
        let err = decoder.push_row(row(42, value)).unwrap_err().to_string();
        assert!(
            err.starts_with("column `amount` of the row with key 42: "),
            "{err}"
        );
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn key_is_rendered_from_the_key_column() {
    let fields = vec![
        Field::new("v", DataType::Int8, true),
        Field::new("code", DataType::Utf8, false),
    ];
    let mut decoder = BatchDecoder::new(Arc::new(Schema::new(fields)), 1, 1).unwrap();
    let err = decoder
        .push_row(vec![Some(Value::Int(1000)), Some(text("ab-1"))])
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("column `v` of the row with key \"ab-1\": "),
        "{err}"
    );
}

#[test]
fn an_error_drops_the_batch_then_the_decoder_recovers() {
    let mut decoder = decoder(&[DataType::Int8], true);
    decoder.push_row(row(1, Some(Value::Int(1)))).unwrap();
    decoder.push_row(row(2, Some(Value::Int(300)))).unwrap_err();
    decoder.push_row(row(3, Some(Value::Int(3)))).unwrap_err();
    decoder.finish().unwrap_err();
    decoder.push_row(row(4, Some(Value::Int(4)))).unwrap();
    let batch = decoder.finish().unwrap();
    assert_eq!(batch.column(1).as_primitive::<Int8Type>().values(), &[4]);
}

#[test]
fn unsupported_types_fail_at_construction() {
    let schema = Schema::new(vec![Field::new("flag", DataType::Boolean, true)]);
    let err = BatchDecoder::new(Arc::new(schema), 0, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("column `flag`") && err.contains("Boolean"),
        "{err}"
    );
    let schema = Schema::new(vec![Field::new("d", DataType::Decimal128(40, 0), true)]);
    assert!(BatchDecoder::new(Arc::new(schema), 0, 1).is_err());
}
