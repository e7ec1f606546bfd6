//! Unit tests of the encoder.
use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::{i256, DataType, Int8Type, UInt32Type};

use super::*;

const EVERY_BYTE_HEX: &str = concat!(
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f",
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
);
/// A text with every byte either dialect escapes, a quote, 0x1A and a 4-byte character.
const TRICKY: &str = "a\tb\nc\\d\0e'f\rg\x1ah😀";

/// Both dialects' text of rows `rows` of a batch.
fn encode_rows(batch: &RecordBatch, rows: Range<usize>) -> (String, String) {
    let encoder = BatchEncoder::new(batch).unwrap();
    let (mut load, mut sql) = (Vec::new(), Vec::new());
    encoder.load_data(rows.clone(), &mut load).unwrap();
    encoder.sql_values(rows, &mut sql).unwrap();
    (
        String::from_utf8(load).unwrap(),
        String::from_utf8(sql).unwrap(),
    )
}

/// Asserts both dialects' text of a one-column batch (column `c0`).
fn check(array: impl Array + 'static, load: &str, sql: &str) {
    let batch = batch(vec![Arc::new(array)]);
    assert_eq!(
        encode_rows(&batch, 0..batch.num_rows()),
        (load.into(), sql.into())
    );
}

/// The error of a one-column batch, the same in both dialects, which leave `out` untouched.
fn error(array: impl Array + 'static) -> String {
    let batch = batch(vec![Arc::new(array)]);
    let encoder = BatchEncoder::new(&batch).unwrap();
    let mut out = b"kept".to_vec();
    let load = encoder
        .load_data(0..batch.num_rows(), &mut out)
        .unwrap_err()
        .to_string();
    let sql = encoder
        .sql_values(0..batch.num_rows(), &mut out)
        .unwrap_err()
        .to_string();
    assert_eq!((out.as_slice(), &load), (&b"kept"[..], &sql));
    load
}

/// A batch of the columns `c0`, `c1`, …
fn batch(columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_from_iter(
        columns
            .into_iter()
            .enumerate()
            .map(|(i, c)| (format!("c{i}"), c)),
    )
    .unwrap()
}

#[test]
fn integers_and_booleans() {
    let batch = batch(vec![
        Arc::new(Int8Array::from(vec![Some(i8::MIN), Some(i8::MAX), None])),
        Arc::new(Int16Array::from(vec![i16::MIN, i16::MAX, 0])),
        Arc::new(Int32Array::from(vec![i32::MIN, i32::MAX, -7])),
        Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
        Arc::new(UInt8Array::from(vec![0, u8::MAX, 1])),
        Arc::new(UInt16Array::from(vec![0, u16::MAX, 1])),
        Arc::new(UInt32Array::from(vec![0, u32::MAX, 1])),
        Arc::new(UInt64Array::from(vec![Some(0), Some(u64::MAX), None])),
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
    ]);
    assert_eq!(
        encode_rows(&batch, 0..3),
        (
            "-128\t-32768\t-2147483648\t-9223372036854775808\t0\t0\t0\t0\t1\n\
             127\t32767\t2147483647\t9223372036854775807\t255\t65535\t4294967295\t18446744073709551615\t0\n\
             \\N\t0\t-7\t\\N\t1\t1\t1\t\\N\t\\N\n"
                .into(),
            "(-128,-32768,-2147483648,-9223372036854775808,0,0,0,0,1),\
             (127,32767,2147483647,9223372036854775807,255,65535,4294967295,18446744073709551615,0),\
             (NULL,0,-7,NULL,1,1,1,NULL,NULL)"
                .into()
        )
    );
    // A sliced batch (offsets into its buffers) writes the same rows.
    assert_eq!(
        encode_rows(&batch.slice(1, 2), 0..2),
        encode_rows(&batch, 1..3)
    );
}

#[test]
fn row_ranges_and_errors_name_column_and_row() {
    let amount = Float64Array::from(vec![0.5, -2.0, f64::NAN]);
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef),
        ("amount", Arc::new(amount)),
    ])
    .unwrap();
    assert_eq!(
        encode_rows(&batch, 1..2),
        ("2\t-2.0\n".into(), "(2,-2.0)".into())
    );
    assert_eq!(
        encode_rows(&batch, 0..2),
        ("1\t0.5\n2\t-2.0\n".into(), "(1,0.5),(2,-2.0)".into())
    );
    assert_eq!(encode_rows(&batch, 2..2), (String::new(), String::new()));
    let encoder = BatchEncoder::new(&batch).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        encoder.sql_values(1..3, &mut out).unwrap_err().to_string(),
        "column `amount`, row 2 of the batch: NaN cannot be stored in MySQL (no NaN or infinity)"
    );
    assert!(out.is_empty());
    assert_eq!(
        encoder.load_data(2..4, &mut out).unwrap_err().to_string(),
        "rows 2..4 are outside the batch of 3 rows"
    );
}

#[test]
fn floats_round_trip_in_their_own_width() {
    let f64s = vec![
        Some(f64::MAX),
        Some(f64::MIN_POSITIVE),
        Some(-0.0),
        Some(5e-324),
        None,
    ];
    check(
        Float64Array::from(f64s),
        "1.7976931348623157e308\n2.2250738585072014e-308\n-0.0\n5e-324\n\\N\n",
        "(1.7976931348623157e308),(2.2250738585072014e-308),(-0.0),(5e-324),(NULL)",
    );
    check(
        Float32Array::from(vec![0.1, f32::MAX, -1e-45, -f32::MAX]),
        "0.1\n3.4028234663852886e38\n-1e-45\n-3.4028234663852886e38\n",
        "(0.1),(3.4028234663852886e38),(-1e-45),(-3.4028234663852886e38)",
    );
    let f16s = Float32Array::from(vec![0.1, 65504.0]);
    let f16s = arrow::compute::cast(&f16s, &DataType::Float16).unwrap();
    check(
        f16s.as_primitive::<Float16Type>().clone(),
        "0.099975586\n65504.0\n",
        "(0.099975586),(65504.0)",
    );
}

#[test]
fn nan_and_infinity_are_errors() {
    assert_eq!(
        error(Float64Array::from(vec![1.0, f64::NAN])),
        "column `c0`, row 1 of the batch: NaN cannot be stored in MySQL (no NaN or infinity)"
    );
    assert_eq!(
        error(Float32Array::from(vec![f32::NEG_INFINITY])),
        "column `c0`, row 0 of the batch: -inf cannot be stored in MySQL (no NaN or infinity)"
    );
}

#[test]
fn decimals_are_exact() {
    let max38 = 10_i128.pow(38) - 1;
    let values = vec![
        Some(max38),
        Some(-1),
        Some(-123_456_789_012_345_678),
        Some(0),
        None,
    ];
    check(
        Decimal128Array::from(values).with_precision_and_scale(38, 10).unwrap(),
        "9999999999999999999999999999.9999999999\n-0.0000000001\n-12345678.9012345678\n0.0000000000\n\\N\n",
        "(9999999999999999999999999999.9999999999),(-0.0000000001),(-12345678.9012345678),(0.0000000000),(NULL)",
    );
    check(
        Decimal128Array::from(vec![1_234_560, -5, -1])
            .with_precision_and_scale(7, 2)
            .unwrap(),
        "12345.60\n-0.05\n-0.01\n",
        "(12345.60),(-0.05),(-0.01)",
    );
    check(
        Decimal128Array::from(vec![123, 0, -4])
            .with_precision_and_scale(5, -2)
            .unwrap(),
        "12300\n0\n-400\n",
        "(12300),(0),(-400)",
    );
    check(
        Decimal32Array::from(vec![-1234])
            .with_precision_and_scale(9, 3)
            .unwrap(),
        "-1.234\n",
        "(-1.234)",
    );
    check(
        Decimal64Array::from(vec![12345])
            .with_precision_and_scale(18, 0)
            .unwrap(),
        "12345\n",
        "(12345)",
    );
    let max65: i256 = "99999999999999999999999999999999999999999999999999999999999999999"
        .parse()
        .unwrap();
    let values = vec![max65, i256::from_i128(-5), i256::ZERO];
    check(
        Decimal256Array::from(values)
            .with_precision_and_scale(65, 30)
            .unwrap(),
        "99999999999999999999999999999999999.999999999999999999999999999999\n\
         -0.000000000000000000000000000005\n0.000000000000000000000000000000\n",
        "(99999999999999999999999999999999999.999999999999999999999999999999),\
         (-0.000000000000000000000000000005),(0.000000000000000000000000000000)",
    );
    check(
        Decimal256Array::from(vec![i256::MIN])
            .with_precision_and_scale(76, 2)
            .unwrap(),
        "-578960446186580977117854925043439539266349923328202820197287920039565648199.68\n",
        "(-578960446186580977117854925043439539266349923328202820197287920039565648199.68)",
    );
}

#[test]
fn dates_within_mysql_range() {
    check(
        Date32Array::from(vec![Some(-354_285), Some(2_932_896), Some(0), None]),
        "1000-01-01\n9999-12-31\n1970-01-01\n\\N\n",
        "('1000-01-01'),('9999-12-31'),('1970-01-01'),(NULL)",
    );
    check(
        Date64Array::from(vec![19_782 * 86_400_000]),
        "2024-02-29\n",
        "('2024-02-29')",
    );
    let outside = "column `c0`, row 0 of the batch: day -354286 from 1970-01-01 is outside MySQL's date range (years 1000 to 9999)";
    assert_eq!(error(Date32Array::from(vec![-354_286])), outside);
    assert!(error(Date32Array::from(vec![2_932_897])).contains("day 2932897 from"));
    assert_eq!(
        error(Date64Array::from(vec![86_400_001])),
        "column `c0`, row 0 of the batch: Date64 86400001 ms is not a whole day (a DATE would drop the time)"
    );
}

#[test]
fn timestamps_naive_and_zoned() {
    check(
        TimestampMicrosecondArray::from(vec![Some(1_704_164_645_000_006), Some(-1), Some(0), None]),
        "2024-01-02 03:04:05.000006\n1969-12-31 23:59:59.999999\n1970-01-01 00:00:00\n\\N\n",
        "('2024-01-02 03:04:05.000006'),('1969-12-31 23:59:59.999999'),('1970-01-01 00:00:00'),(NULL)",
    );
    check(
        TimestampSecondArray::from(vec![253_402_300_799]),
        "9999-12-31 23:59:59\n",
        "('9999-12-31 23:59:59')",
    );
    check(
        TimestampMillisecondArray::from(vec![1_500]),
        "1970-01-01 00:00:01.500000\n",
        "('1970-01-01 00:00:01.500000')",
    );
    check(
        TimestampNanosecondArray::from(vec![-1_000]),
        "1969-12-31 23:59:59.999999\n",
        "('1969-12-31 23:59:59.999999')",
    );
    // Zoned values are instants; the target stores them in UTC.
    let paris = chrono::DateTime::parse_from_rfc3339("2024-06-01T12:00:00+02:00").unwrap();
    let kolkata = chrono::DateTime::parse_from_rfc3339("2024-06-01T00:15:00.25+05:30").unwrap();
    check(
        TimestampMicrosecondArray::from(vec![paris.timestamp_micros()])
            .with_timezone("Europe/Paris"),
        "2024-06-01 10:00:00\n",
        "('2024-06-01 10:00:00')",
    );
    check(
        TimestampMillisecondArray::from(vec![kolkata.timestamp_millis()]).with_timezone("+05:30"),
        "2024-05-31 18:45:00.250000\n",
        "('2024-05-31 18:45:00.250000')",
    );
}

#[test]
fn timestamp_errors() {
    assert_eq!(
        error(TimestampNanosecondArray::from(vec![0, 1_500])),
        "column `c0`, row 1 of the batch: 1500 ns is not a whole number of microseconds (MySQL keeps microseconds)"
    );
    assert!(error(TimestampSecondArray::from(vec![-30_610_224_001]))
        .contains("outside MySQL's date range"));
    assert_eq!(
        error(TimestampSecondArray::from(vec![i64::MAX])),
        "column `c0`, row 0 of the batch: 9223372036854775807 (Second) is out of range"
    );
}

#[test]
fn times_of_day() {
    check(
        Time32SecondArray::from(vec![0, 86_399]),
        "00:00:00\n23:59:59\n",
        "('00:00:00'),('23:59:59')",
    );
    check(
        Time32MillisecondArray::from(vec![45_296_789]),
        "12:34:56.789000\n",
        "('12:34:56.789000')",
    );
    check(
        Time64MicrosecondArray::from(vec![86_399_999_999]),
        "23:59:59.999999\n",
        "('23:59:59.999999')",
    );
    check(
        Time64NanosecondArray::from(vec![Some(1_000), None]),
        "00:00:00.000001\n\\N\n",
        "('00:00:00.000001'),(NULL)",
    );
    assert!(
        error(Time64NanosecondArray::from(vec![86_400_000_000_000])).contains("outside 00:00:00")
    );
    assert!(error(Time64NanosecondArray::from(vec![1])).contains("1 ns is not a whole number"));
}

#[test]
fn durations_within_mysql_time_range() {
    let max = 3_020_399_999_999;
    check(
        DurationMicrosecondArray::from(vec![360_061_500_000, -1, max, -max]),
        "100:01:01.500000\n-00:00:00.000001\n838:59:59.999999\n-838:59:59.999999\n",
        "('100:01:01.500000'),('-00:00:00.000001'),('838:59:59.999999'),('-838:59:59.999999')",
    );
    check(
        DurationSecondArray::from(vec![-90_061]),
        "-25:01:01\n",
        "('-25:01:01')",
    );
    check(
        DurationMillisecondArray::from(vec![5]),
        "00:00:00.005000\n",
        "('00:00:00.005000')",
    );
    check(
        DurationNanosecondArray::from(vec![7_000]),
        "00:00:00.000007\n",
        "('00:00:00.000007')",
    );
    assert_eq!(
        error(DurationMicrosecondArray::from(vec![-max - 1])),
        "column `c0`, row 0 of the batch: duration -3020400000000 µs is outside MySQL's TIME range (±838:59:59.999999)"
    );
    assert!(error(DurationNanosecondArray::from(vec![1_234])).contains("1234 ns is not a whole"));
}

#[test]
fn text_in_every_string_layout() {
    let load = "a\\tb\\nc\\\\d\\0e'f\\rg\x1ah😀\n\\\\N\n\n\\N\n";
    let sql = "('a\tb\\nc\\\\d\\0e\\'f\\rg\\Zh😀'),('\\\\N'),(''),(NULL)";
    let values = vec![Some(TRICKY), Some("\\N"), Some(""), None];
    check(StringArray::from(values.clone()), load, sql);
    check(LargeStringArray::from(values.clone()), load, sql);
    check(StringViewArray::from(values.clone()), load, sql);
    check(
        values
            .iter()
            .copied()
            .collect::<DictionaryArray<Int8Type>>(),
        load,
        sql,
    );
    // A null dictionary value (not a null key) is NULL too.
    let keys = UInt32Array::from(vec![0, 1, 2, 3]);
    let dictionary =
        DictionaryArray::<UInt32Type>::try_new(keys, Arc::new(LargeStringArray::from(values)));
    check(dictionary.unwrap(), load, sql);
}

#[test]
fn binary_as_hex() {
    let every_byte: Vec<u8> = (0..=255).collect();
    let values = vec![Some(&every_byte[..]), Some(&[][..]), None];
    let load = format!("{EVERY_BYTE_HEX}\n\n\\N\n");
    let sql = format!("(X'{EVERY_BYTE_HEX}'),(X''),(NULL)");
    check(BinaryArray::from(values.clone()), &load, &sql);
    check(LargeBinaryArray::from(values.clone()), &load, &sql);
    check(BinaryViewArray::from(values), &load, &sql);
    let fixed = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
        vec![Some([0x00, 0xff]), Some([0x1a, 0x27]), None].into_iter(),
        2,
    );
    check(
        fixed.unwrap(),
        "00ff\n1a27\n\\N\n",
        "(X'00ff'),(X'1a27'),(NULL)",
    );
    assert!(loads_as_hex(&DataType::FixedSizeBinary(16)) && loads_as_hex(&DataType::BinaryView));
    assert!(!loads_as_hex(&DataType::Utf8) && !loads_as_hex(&DataType::Int64));
}

#[test]
fn null_type_is_always_null() {
    check(NullArray::new(2), "\\N\n\\N\n", "(NULL),(NULL)");
}

#[test]
fn unsupported_types_name_the_column() {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    let batch = RecordBatch::try_from_iter([("tags", Arc::new(list) as ArrayRef)]).unwrap();
    let message = BatchEncoder::new(&batch).err().unwrap().to_string();
    assert!(
        message.starts_with("column `tags`: Arrow type List("),
        "{message}"
    );
    assert!(
        message.ends_with(") is not supported by the mysql target"),
        "{message}"
    );
    let interval = IntervalYearMonthArray::from(vec![1]);
    let batch = RecordBatch::try_from_iter([("gap", Arc::new(interval) as ArrayRef)]).unwrap();
    assert_eq!(
        BatchEncoder::new(&batch).err().unwrap().to_string(),
        "column `gap`: Arrow type Interval(YearMonth) is not supported by the mysql target"
    );
}
