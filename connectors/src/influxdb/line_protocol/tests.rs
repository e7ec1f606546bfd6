use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use arrow::record_batch::RecordBatch;

use super::values::{base64, escape_name, quoted, rescale};
use super::{Layout, PointSpec, Tally};
use crate::influxdb::Precision;
use crate::KEY_METADATA;

fn spec(tags: &[&str], fields: Option<&[&str]>, time: Option<&str>) -> PointSpec {
    PointSpec {
        measurement: "m".into(),
        tag_columns: tags.iter().map(|t| t.to_string()).collect(),
        field_columns: fields.map(|f| f.iter().map(|c| c.to_string()).collect()),
        time_column: time.map(str::to_string),
        precision: Precision::Ms,
    }
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// The lines `spec` renders from `batch` (as batch 7, stamped `now` without a time column).
fn render(spec: &PointSpec, batch: &RecordBatch, now: i64) -> crate::Result<(String, Tally)> {
    let layout = Layout::new(spec, &batch.schema())?;
    let (mut out, mut ends) = (b"previous\n".to_vec(), vec![9]);
    let tally = layout.render(batch, (now, 0), 7, &mut out, &mut ends)?;
    assert_eq!(ends.len() as u64, tally.lines + 1);
    assert_eq!(ends.last().copied(), Some(out.len()));
    let text = String::from_utf8(out).unwrap();
    Ok((text["previous\n".len()..].to_string(), tally))
}

fn escaped(name: &str, tag_like: bool) -> String {
    let mut out = Vec::new();
    escape_name(name, tag_like, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn names_are_escaped_for_every_reader() {
    assert_eq!(escaped("cpu load", false), r"cpu\ load");
    assert_eq!(
        escaped("a,b=c", false),
        r"a\,b=c",
        "`=` is plain in a measurement"
    );
    assert_eq!(escaped("a,b=c d", true), r"a\,b\=c\ d");
    assert_eq!(escaped("ünï ✓", true), r"ünï\ ✓");
    // A backslash before an ordinary character is itself for every reader.
    assert_eq!(escaped(r"C:\Users\x", true), r"C:\Users\x");
    // Where it could be read as an escape, it is doubled.
    assert_eq!(escaped(r"end\", true), r"end\\");
    assert_eq!(escaped(r"a\,b", true), r"a\\\,b");
    assert_eq!(escaped(r"a\\b", true), r"a\\\b");
    assert_eq!(escaped(r"x\=y", true), r"x\\\=y");
    assert_eq!(escaped(r"x\=y", false), r"x\\=y");
    assert_eq!(escaped(r"a\ b", false), r"a\\\ b");
    let mut out = Vec::new();
    let err = escape_name("two\nlines", true, &mut out).unwrap_err();
    assert!(err.contains("newline"), "{err}");
}

#[test]
fn strings_are_quoted_with_quotes_and_backslashes_escaped() {
    let mut out = Vec::new();
    quoted(br#"say "hi" \ bye"#, &mut out);
    quoted(b"two\nlines", &mut out);
    quoted(b"", &mut out);
    assert_eq!(
        out,
        b"\"say \\\"hi\\\" \\\\ bye\"\"two\nlines\"\"\"".to_vec()
    );
}

#[test]
fn time_units_are_rescaled_exactly_or_floored() {
    assert_eq!(
        rescale(1_700, 1_000, 1_000_000_000),
        Some((1_700_000_000, false))
    );
    assert_eq!(rescale(1_500, 1_000_000, 1_000), Some((1, true)));
    assert_eq!(rescale(2_000, 1_000_000, 1_000), Some((2, false)));
    assert_eq!(
        rescale(-1, 1_000_000_000, 1_000),
        Some((-1, true)),
        "floored, not toward 0"
    );
    assert_eq!(rescale(-1_000_000, 1_000_000_000, 1_000), Some((-1, false)));
    assert_eq!(rescale(i64::MAX / 10, 1, 1_000), None, "overflow");
    assert_eq!(rescale(42, 1_000, 1_000), Some((42, false)));
}

#[test]
fn binary_is_base64() {
    let encode = |bytes: &[u8]| {
        let mut out = Vec::new();
        base64(bytes, &mut out);
        String::from_utf8(out).unwrap()
    };
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, coded) in cases {
        assert_eq!(encode(plain.as_bytes()), coded);
    }
    assert_eq!(encode(&[0xff, 0xfe]), "//4=");
}

#[test]
fn every_type_renders_in_its_line_protocol_form() {
    let dc = DictionaryArray::<Int8Type>::new(
        Int8Array::from(vec![Some(0), Some(1), None]),
        Arc::new(StringArray::from(vec!["eu,1", "us=2"])),
    );
    let st = StructArray::from(vec![(
        Arc::new(Field::new("a", DataType::Int32, false)),
        Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef,
    )]);
    let lists = vec![Some(vec![Some(1), Some(2)]), Some(vec![]), None];
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("n", Arc::new(Int64Array::from(vec![-5, 0, i64::MAX]))),
        (
            "host",
            Arc::new(StringArray::from(vec![Some("a b"), None, Some("")])),
        ),
        ("u", Arc::new(UInt64Array::from(vec![0, 7, u64::MAX]))),
        ("f", Arc::new(Float64Array::from(vec![0.1, f64::NAN, 1e21]))),
        (
            "g",
            Arc::new(Float32Array::from(vec![0.1, -0.0, f32::INFINITY])),
        ),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from(vec![-1250, 5, 100])
                    .with_precision_and_scale(7, 2)
                    .unwrap(),
            ),
        ),
        ("dc", Arc::new(dc)),
        (
            "s",
            Arc::new(StringArray::from(vec![
                "say \"hi\"",
                "back\\slash",
                "two\nlines",
            ])),
        ),
        (
            "b",
            Arc::new(BinaryArray::from(vec![&b"foo"[..], &b""[..], &b"\xff"[..]])),
        ),
        ("d", Arc::new(Date32Array::from(vec![0, 1, -1]))),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![1_500, -1_500, 0]).with_timezone("UTC")),
        ),
        ("dur", Arc::new(DurationSecondArray::from(vec![1, 2, 3]))),
        ("rack", Arc::new(Int32Array::from(vec![1, -2, 3]))),
        (
            "l",
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(lists)),
        ),
        ("st", Arc::new(st)),
        (
            "time",
            Arc::new(TimestampMillisecondArray::from(vec![
                1_700_000_000_000,
                1_700_000_000_001,
                1_700_000_000_002,
            ])),
        ),
    ];
    let batch = batch(columns);
    let (text, tally) = render(
        &spec(&["rack", "host", "dc"], None, Some("time")),
        &batch,
        0,
    )
    .unwrap();
    let expected = [
        r#"m,dc=eu\,1,host=a\ b,rack=1 n=-5i,u=0u,f=0.1,g=0.1,ok=true,price=-12.50,s="say \"hi\"",b="Zm9v",d=0i,at=1i,dur=1000i,l="[1,2]",st="{\"a\":1}" 1700000000000"#,
        r#"m,dc=us\=2,rack=-2 n=0i,u=7u,g=-0.0,ok=false,price=0.05,s="back\\slash",b="",d=86400000i,at=-2i,dur=2000i,l="[]",st="{\"a\":2}" 1700000000001"#,
        "m,rack=3 n=9223372036854775807i,u=18446744073709551615u,f=1e21,price=1.00,s=\"two\nlines\",b=\"/w==\",d=-86400000i,at=0i,dur=3000i,st=\"{\\\"a\\\":3}\" 1700000000002",
    ];
    assert_eq!(text, expected.map(|l| format!("{l}\n")).concat());
    assert_eq!(
        tally,
        Tally {
            lines: 3,
            rows_without_fields: 0,
            non_finite: 2,
            truncated_times: 0
        }
    );
}

#[test]
fn rows_without_any_field_value_are_skipped_and_counted() {
    let batch = batch(vec![
        (
            "t",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        ),
        (
            "x",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(f64::NAN)])),
        ),
        ("y", Arc::new(Int32Array::from(vec![None, None, None]))),
        ("z", Arc::new(NullArray::new(3))),
    ]);
    let (text, tally) = render(&spec(&["t"], None, None), &batch, 1_234).unwrap();
    assert_eq!(text, "m,t=a x=1.5 1234\n");
    assert_eq!(
        (tally.lines, tally.rows_without_fields, tally.non_finite),
        (1, 2, 1)
    );
}

#[test]
fn field_columns_choose_and_order_the_fields() {
    let batch = batch(vec![
        ("a", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("b", Arc::new(Int64Array::from(vec![2]))),
        ("c", Arc::new(Int64Array::from(vec![3]))),
    ]);
    let (text, _) = render(&spec(&[], Some(&["c", "a"]), None), &batch, 9).unwrap();
    assert_eq!(text, "m c=3i,a=1i 9\n");
}

#[test]
fn time_columns_of_each_kind_in_precision_units() {
    let one = |name: &str, array: ArrayRef, precision: Precision| {
        let v: ArrayRef = Arc::new(Int8Array::from(vec![1]));
        let batch = batch(vec![(name, array), ("v", v)]);
        let mut spec = spec(&[], None, Some(name));
        spec.precision = precision;
        render(&spec, &batch, 0)
    };
    let line = |r: crate::Result<(String, Tally)>| {
        let (text, tally) = r.unwrap();
        (text, tally.truncated_times)
    };
    let nanos: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![
        1_700_000_000_123_456_789,
    ]));
    assert_eq!(
        line(one("t", nanos.clone(), Precision::Ms)),
        ("m v=1i 1700000000123\n".into(), 1)
    );
    assert_eq!(
        line(one("t", nanos, Precision::Ns)),
        ("m v=1i 1700000000123456789\n".into(), 0)
    );
    let seconds: ArrayRef = Arc::new(TimestampSecondArray::from(vec![1_700_000_000]));
    assert_eq!(
        line(one("t", seconds, Precision::Us)),
        ("m v=1i 1700000000000000\n".into(), 0)
    );
    let day: ArrayRef = Arc::new(Date32Array::from(vec![1]));
    assert_eq!(
        line(one("t", day, Precision::S)),
        ("m v=1i 86400\n".into(), 0)
    );
    let counted: ArrayRef = Arc::new(Int64Array::from(vec![-42]));
    assert_eq!(
        line(one("t", counted, Precision::S)),
        ("m v=1i -42\n".into(), 0)
    );

    let too_big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
    let too_big = one("t", too_big, Precision::Ns);
    let err = too_big.unwrap_err().to_string();
    assert!(err.contains("row 1 of batch 7, column `t`"), "{err}");
    let far: ArrayRef = Arc::new(TimestampSecondArray::from(vec![i64::MAX / 2]));
    let far = one("t", far, Precision::Ns);
    assert!(far.unwrap_err().to_string().contains("out of range"));
    let null: ArrayRef = Arc::new(Int64Array::from(vec![None]));
    let null = one("t", null, Precision::Ms);
    let err = null.unwrap_err().to_string();
    assert!(
        err.starts_with("target.influxdb: row 1 of batch 7, column `t`: the time is null"),
        "{err}"
    );
}

#[test]
fn a_newline_in_a_tag_value_fails_naming_the_row_by_its_key() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false).with_metadata(HashMap::from([(
            KEY_METADATA.to_string(),
            "true".to_string(),
        )])),
        Field::new("tag", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![10, 20])),
            Arc::new(StringArray::from(vec!["fine", "two\nlines"])),
        ],
    )
    .unwrap();
    let layout = Layout::new(&spec(&["tag"], None, None), &batch.schema()).unwrap();
    let mut out = b"kept\n".to_vec();
    let mut ends = vec![5];
    let err = layout
        .render(&batch, (1, 0), 3, &mut out, &mut ends)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "target.influxdb: the row with id = 20 (batch 3), column `tag`: holds a newline, \
         which line protocol cannot carry"
    );
    assert_eq!(
        (out, ends),
        (b"kept\n".to_vec(), vec![5]),
        "nothing of the batch is kept"
    );
}

#[test]
fn columns_that_cannot_take_their_role_fail_before_rendering() {
    let batch = batch(vec![
        ("ratio", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
        (
            "span",
            Arc::new(IntervalDayTimeArray::from(vec![IntervalDayTime::new(1, 2)])),
        ),
        ("label", Arc::new(StringArray::from(vec!["x"]))),
        ("bad\nname", Arc::new(Int32Array::from(vec![1]))),
    ]);
    let err = Layout::new(
        &spec(
            &["ratio", "missing"],
            Some(&["span", "bad\nname"]),
            Some("label"),
        ),
        &batch.schema(),
    )
    .unwrap_err()
    .to_string();
    for part in [
        "tag column `ratio` is Float64",
        "tag column `missing` is not in the batch (its columns: ratio, span, label, bad\nname)",
        "time column `label` is Utf8",
        "field column `span` is Interval(DayTime), which has no line protocol form",
        "field column `bad\nname`: holds a newline",
    ] {
        assert!(err.contains(part), "{part:?} not in {err}");
    }
    let only_tags = batch_of_tag_and_time();
    let err = Layout::new(&spec(&["t"], None, Some("at")), &only_tags.schema())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no column is left for the fields"), "{err}");
}

fn batch_of_tag_and_time() -> RecordBatch {
    batch(vec![
        ("t", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
        ("at", Arc::new(TimestampSecondArray::from(vec![1]))),
    ])
}

#[test]
fn tags_of_every_accepted_type_are_sorted_by_key() {
    let batch = batch(vec![
        ("v", Arc::new(Int8Array::from(vec![1])) as ArrayRef),
        ("zone", Arc::new(LargeStringArray::from(vec!["z"]))),
        ("Alpha", Arc::new(BooleanArray::from(vec![false]))),
        ("big", Arc::new(UInt64Array::from(vec![u64::MAX]))),
        ("day", Arc::new(Date32Array::from(vec![19_723]))),
        (
            "cost",
            Arc::new(
                Decimal128Array::from(vec![-5])
                    .with_precision_and_scale(3, 1)
                    .unwrap(),
            ),
        ),
        ("t k,e=y", Arc::new(Int16Array::from(vec![-3]))),
    ]);
    let tags = ["zone", "Alpha", "big", "day", "cost", "t k,e=y"];
    let (text, _) = render(&spec(&tags, None, None), &batch, 5).unwrap();
    assert_eq!(
        text,
        "m,Alpha=false,big=18446744073709551615,cost=-0.5,day=2024-01-01,t\\ k\\,e\\=y=-3,zone=z v=1i 5\n"
    );
}

#[test]
fn narrow_unsigned_integers_are_signed_fields_and_rows_without_a_time_column_step_apart() {
    let b = batch(vec![
        (
            "small",
            Arc::new(UInt32Array::from(vec![7, u32::MAX])) as ArrayRef,
        ),
        ("big", Arc::new(UInt64Array::from(vec![1, 2])) as ArrayRef),
    ]);
    let layout = Layout::new(&spec(&[], None, None), &b.schema()).unwrap();
    let (mut out, mut ends) = (Vec::new(), Vec::new());
    layout
        .render(&b, (1000, 3), 1, &mut out, &mut ends)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "m small=7i,big=1u 1000\nm small=4294967295i,big=2u 1003\n"
    );
}
