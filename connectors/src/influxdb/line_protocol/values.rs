//! The line protocol text of single values, column by column: each column's type is
//! resolved once per batch into a writer closure over the downcast array (see the parent
//! module's doc for the rules).

use crate::decimal_text::decimal_text;
use std::io::Write as _;

use arrow::array::{Array, ArrayAccessor, AsArray};
use arrow::datatypes::*;
use arrow::error::ArrowError;
use arrow::json::writer::{make_encoder, EncoderOptions};

use super::super::config::Precision;

/// Why one value cannot be written (the row loop adds the row and the column).
pub(super) type ValueError = String;
/// Appends the escaped text of a (non-null) tag value.
pub(super) type TagWriter<'a> = Box<dyn FnMut(usize, &mut Vec<u8>) -> Result<(), ValueError> + 'a>;
/// Appends a (non-null) field value; `Ok(false)` (nothing appended) for a float that line
/// protocol cannot carry (NaN, ±infinity).
pub(super) type FieldWriter<'a> =
    Box<dyn FnMut(usize, &mut Vec<u8>) -> Result<bool, ValueError> + 'a>;
/// A (non-null) time value in `precision` units, and whether finer digits were dropped.
pub(super) type TimeReader<'a> = Box<dyn Fn(usize) -> Result<(i64, bool), ValueError> + 'a>;
/// A (non-null) value of an integer-backed column as `i64`.
pub(super) type IntReader<'a> = Box<dyn Fn(usize) -> i64 + 'a>;

/// A tag writer from a closure (the bound gives the closure its signature).
fn tag_fn<'a>(
    write: impl FnMut(usize, &mut Vec<u8>) -> Result<(), ValueError> + 'a,
) -> TagWriter<'a> {
    Box::new(write)
}

/// A field writer from a closure (the bound gives the closure its signature).
fn field_fn<'a>(
    write: impl FnMut(usize, &mut Vec<u8>) -> Result<bool, ValueError> + 'a,
) -> FieldWriter<'a> {
    Box::new(write)
}

/// Append `name` escaped as a measurement (`tag_like: false`) or as a tag key, tag value or
/// field key (see the module doc).
pub fn escape_name(name: &str, tag_like: bool, out: &mut Vec<u8>) -> Result<(), ValueError> {
    let bytes = name.as_bytes();
    let special = |b: u8| matches!(b, b',' | b' ' | b'\\' | b'\n') || (tag_like && b == b'=');
    if !bytes.iter().any(|&b| special(b)) {
        out.extend_from_slice(bytes);
        return Ok(());
    }
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => return Err("holds a newline, which line protocol cannot carry".into()),
            b'\\' => {
                let escapes_next = match bytes.get(i + 1) {
                    None => true,
                    Some(&next) => matches!(next, b'\\' | b',' | b' ' | b'='),
                };
                if escapes_next {
                    out.extend_from_slice(b"\\\\");
                } else {
                    out.push(b'\\');
                }
            }
            b',' | b' ' => out.extend_from_slice(&[b'\\', b]),
            b'=' if tag_like => out.extend_from_slice(b"\\="),
            _ => out.push(b),
        }
    }
    Ok(())
}

/// Append `value` as a quoted string field value: `"` and `\` escaped.
pub fn quoted(value: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        if b == b'"' || b == b'\\' {
            out.extend_from_slice(&value[start..i]);
            out.push(b'\\');
            start = i;
        }
    }
    out.extend_from_slice(&value[start..]);
    out.push(b'"');
}

/// `value` counted at `from` units per second, at `to` units per second: exact when `to` is
/// as fine or finer, floored when coarser (`true`: digits were dropped). `None` on overflow.
pub fn rescale(value: i64, from: i64, to: i64) -> Option<(i64, bool)> {
    if to >= from {
        Some((value.checked_mul(to / from)?, false))
    } else {
        let factor = from / to;
        Some((value.div_euclid(factor), value.rem_euclid(factor) != 0))
    }
}

/// Units per second of an Arrow time unit.
fn per_second(unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

/// The reader of the time column, or `None` when its type cannot be a time.
pub(super) fn time_reader(array: &dyn Array, precision: Precision) -> Option<TimeReader<'_>> {
    fn scaled(read: IntReader<'_>, from: i64, precision: Precision) -> TimeReader<'_> {
        let to = precision.per_second();
        Box::new(move |row| {
            let value = read(row);
            rescale(value, from, to).ok_or_else(|| out_of_range(value, precision))
        })
    }
    fn plain(read: IntReader<'_>) -> TimeReader<'_> {
        Box::new(move |row| Ok((read(row), false)))
    }
    Some(match array.data_type() {
        DataType::Timestamp(unit, _) => scaled(ints_of(array)?, per_second(unit), precision),
        DataType::Date32 => scaled(days_as_seconds(array), 1, precision),
        DataType::Date64 => scaled(ints::<Date64Type>(array), 1_000, precision),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            plain(ints_of(array)?)
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => plain(ints_of(array)?),
        DataType::UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            Box::new(move |row| {
                let value = a.value(row);
                i64::try_from(value)
                    .map(|v| (v, false))
                    .map_err(|_| format!("{value} is past the largest timestamp (2^63 - 1)"))
            })
        }
        _ => return None,
    })
}

fn out_of_range(value: i64, precision: Precision) -> ValueError {
    format!(
        "{value} is out of range once counted in {} (precision): at most ±2^63 - 1",
        precision.as_str()
    )
}

/// A reader of any integer-backed column as `i64` (integers up to 32-bit unsigned, dates,
/// times, timestamps, durations); `None` for other types.
fn ints_of(array: &dyn Array) -> Option<IntReader<'_>> {
    use TimeUnit::*;
    Some(match array.data_type() {
        DataType::Int8 => ints::<Int8Type>(array),
        DataType::Int16 => ints::<Int16Type>(array),
        DataType::Int32 => ints::<Int32Type>(array),
        DataType::Int64 => ints::<Int64Type>(array),
        DataType::UInt8 => ints::<UInt8Type>(array),
        DataType::UInt16 => ints::<UInt16Type>(array),
        DataType::UInt32 => ints::<UInt32Type>(array),
        DataType::Timestamp(Second, _) => ints::<TimestampSecondType>(array),
        DataType::Timestamp(Millisecond, _) => ints::<TimestampMillisecondType>(array),
        DataType::Timestamp(Microsecond, _) => ints::<TimestampMicrosecondType>(array),
        DataType::Timestamp(Nanosecond, _) => ints::<TimestampNanosecondType>(array),
        DataType::Time32(Second) => ints::<Time32SecondType>(array),
        DataType::Time32(Millisecond) => ints::<Time32MillisecondType>(array),
        DataType::Time64(Microsecond) => ints::<Time64MicrosecondType>(array),
        DataType::Time64(Nanosecond) => ints::<Time64NanosecondType>(array),
        DataType::Duration(Second) => ints::<DurationSecondType>(array),
        DataType::Duration(Millisecond) => ints::<DurationMillisecondType>(array),
        DataType::Duration(Microsecond) => ints::<DurationMicrosecondType>(array),
        DataType::Duration(Nanosecond) => ints::<DurationNanosecondType>(array),
        _ => return None,
    })
}

fn ints<T>(array: &dyn Array) -> IntReader<'_>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    let a = array.as_primitive::<T>();
    Box::new(move |row| a.value(row).into())
}

fn days_as_seconds(array: &dyn Array) -> IntReader<'_> {
    let a = array.as_primitive::<Date32Type>();
    Box::new(move |row| i64::from(a.value(row)) * SECONDS_PER_DAY)
}

/// The writer of a tag column, or `None` when its type cannot be a tag.
pub(super) fn tag_writer(array: &dyn Array) -> Option<TagWriter<'_>> {
    fn text<'a, A>(a: A) -> TagWriter<'a>
    where
        A: ArrayAccessor<Item = &'a str> + 'a,
    {
        tag_fn(move |row, out| escape_name(a.value(row), true, out))
    }
    Some(match array.data_type() {
        DataType::Utf8 => text(array.as_string::<i32>()),
        DataType::LargeUtf8 => text(array.as_string::<i64>()),
        DataType::Utf8View => text(array.as_string_view()),
        DataType::Dictionary(_, _) => {
            let (keys, values) = dictionary(array)?;
            let mut write = tag_writer(values)?;
            tag_fn(move |row, out| write(keys[row], out))
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            tag_fn(move |row, out| {
                out.extend_from_slice(if a.value(row) { &b"true"[..] } else { b"false" });
                Ok(())
            })
        }
        DataType::UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            tag_fn(move |row, out| {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes());
                Ok(())
            })
        }
        DataType::Date32 | DataType::Date64 => {
            let days: IntReader<'_> = match array.data_type() {
                DataType::Date32 => ints::<Date32Type>(array),
                _ => {
                    let ms = ints::<Date64Type>(array);
                    Box::new(move |row| ms(row).div_euclid(SECONDS_PER_DAY * 1_000))
                }
            };
            tag_fn(move |row, out| {
                let day = days(row);
                let date = i32::try_from(day)
                    .ok()
                    .and_then(|d| d.checked_add(719_163))
                    .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
                    .ok_or_else(|| format!("day {day} after 1970-01-01 is not a calendar date"))?;
                write!(out, "{date}").map_err(|e| e.to_string())
            })
        }
        data_type if data_type.is_integer() => {
            let read = ints_of(array)?;
            tag_fn(move |row, out| {
                out.extend_from_slice(itoa::Buffer::new().format(read(row)).as_bytes());
                Ok(())
            })
        }
        _ => decimal_writer(array)?,
    })
}

/// The keys (as positions in the values) and the values of a dictionary column.
fn dictionary(array: &dyn Array) -> Option<(Vec<usize>, &dyn Array)> {
    let dictionary = array.as_any_dictionary_opt()?;
    let values = dictionary.values().as_ref();
    // `normalized_keys` asserts on empty values; then every key is null and never read.
    let keys = if values.is_empty() {
        Vec::new()
    } else {
        dictionary.normalized_keys()
    };
    Some((keys, values))
}

/// The writer of a field column (`Ok(None)` when its type has no line protocol form).
pub(super) fn field_writer<'a>(
    field: &'a FieldRef,
    array: &'a dyn Array,
    options: &'a EncoderOptions,
    precision: Precision,
) -> std::result::Result<Option<FieldWriter<'a>>, ArrowError> {
    fn text<'a, A>(a: A) -> FieldWriter<'a>
    where
        A: ArrayAccessor + 'a,
        A::Item: AsRef<[u8]>,
    {
        field_fn(move |row, out| {
            quoted(a.value(row).as_ref(), out);
            Ok(true)
        })
    }
    fn binary<'a, A>(a: A) -> FieldWriter<'a>
    where
        A: ArrayAccessor + 'a,
        A::Item: AsRef<[u8]>,
    {
        field_fn(move |row, out| {
            out.push(b'"');
            base64(a.value(row).as_ref(), out);
            out.push(b'"');
            Ok(true)
        })
    }
    fn integer(read: IntReader<'_>) -> FieldWriter<'_> {
        field_fn(move |row, out| {
            out.extend_from_slice(itoa::Buffer::new().format(read(row)).as_bytes());
            out.push(b'i');
            Ok(true)
        })
    }
    fn float<'a, T>(array: &'a dyn Array) -> FieldWriter<'a>
    where
        T: ArrowPrimitiveType,
        T::Native: ryu::Float + Into<f64>,
    {
        let a = array.as_primitive::<T>();
        field_fn(move |row, out| {
            let value = a.value(row);
            let wide: f64 = value.into();
            if !wide.is_finite() {
                return Ok(false);
            }
            out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
            Ok(true)
        })
    }
    let to = precision.per_second();
    let temporal = move |read: IntReader<'a>, from: i64| -> FieldWriter<'a> {
        field_fn(move |row, out| {
            let value = read(row);
            let (scaled, _) =
                rescale(value, from, to).ok_or_else(|| out_of_range(value, precision))?;
            out.extend_from_slice(itoa::Buffer::new().format(scaled).as_bytes());
            out.push(b'i');
            Ok(true)
        })
    };
    Ok(Some(match array.data_type() {
        DataType::Null => field_fn(|_, _| Ok(false)),
        DataType::Boolean => {
            let a = array.as_boolean();
            field_fn(move |row, out| {
                out.extend_from_slice(if a.value(row) { &b"true"[..] } else { b"false" });
                Ok(true)
            })
        }
        // Only u64 needs InfluxDB's unsigned type (which 1.x refuses unless enabled); the
        // narrower ones fit a signed integer.
        DataType::UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            field_fn(move |row, out| {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes());
                out.push(b'u');
                Ok(true)
            })
        }
        data_type if data_type.is_integer() => match ints_of(array) {
            Some(read) => integer(read),
            None => return Ok(None),
        },
        DataType::Float16 => {
            let a = array.as_primitive::<Float16Type>();
            field_fn(move |row, out| {
                let value = a.value(row).to_f32();
                if !value.is_finite() {
                    return Ok(false);
                }
                out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
                Ok(true)
            })
        }
        DataType::Float32 => float::<Float32Type>(array),
        DataType::Float64 => float::<Float64Type>(array),
        DataType::Utf8 => text(array.as_string::<i32>()),
        DataType::LargeUtf8 => text(array.as_string::<i64>()),
        DataType::Utf8View => text(array.as_string_view()),
        DataType::Binary => binary(array.as_binary::<i32>()),
        DataType::LargeBinary => binary(array.as_binary::<i64>()),
        DataType::BinaryView => binary(array.as_binary_view()),
        DataType::FixedSizeBinary(_) => binary(array.as_fixed_size_binary()),
        DataType::Dictionary(_, value_type)
            if matches!(
                value_type.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let Some((keys, values)) = dictionary(array) else {
                return Ok(None);
            };
            let mut write = match values.data_type() {
                DataType::Utf8 => text(values.as_string::<i32>()),
                DataType::LargeUtf8 => text(values.as_string::<i64>()),
                _ => text(values.as_string_view()),
            };
            field_fn(move |row, out| write(keys[row], out))
        }
        DataType::Date32 => temporal(days_as_seconds(array), 1),
        DataType::Date64 => temporal(ints::<Date64Type>(array), 1_000),
        DataType::Timestamp(unit, _) | DataType::Duration(unit) => match ints_of(array) {
            Some(read) => temporal(read, per_second(unit)),
            None => return Ok(None),
        },
        DataType::Time32(unit) | DataType::Time64(unit) => match ints_of(array) {
            Some(read) => temporal(read, per_second(unit)),
            None => return Ok(None),
        },
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(_, _)
        | DataType::Struct(_)
        | DataType::Map(_, _) => {
            let mut encoder = make_encoder(field, array, options)?;
            let mut json = Vec::new();
            field_fn(move |row, out| {
                json.clear();
                encoder.encode(row, &mut json);
                quoted(&json, out);
                Ok(true)
            })
        }
        _ => match decimal_writer(array) {
            Some(mut write) => field_fn(move |row, out| write(row, out).map(|()| true)),
            None => return Ok(None),
        },
    }))
}

/// The writer of a decimal column's exact text (`-12.50`), or `None` for other types.
fn decimal_writer(array: &dyn Array) -> Option<TagWriter<'_>> {
    fn each<T>(array: &dyn Array, scale: i8) -> TagWriter<'_>
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i128>,
    {
        let a = array.as_primitive::<T>();
        tag_fn(move |row, out| {
            let value: i128 = a.value(row).into();
            let mut digits = itoa::Buffer::new();
            decimal_text(
                value < 0,
                digits.format(value.unsigned_abs()).as_bytes(),
                scale,
                out,
            );
            Ok(())
        })
    }
    Some(match *array.data_type() {
        DataType::Decimal32(_, scale) => each::<Decimal32Type>(array, scale),
        DataType::Decimal64(_, scale) => each::<Decimal64Type>(array, scale),
        DataType::Decimal128(_, scale) => each::<Decimal128Type>(array, scale),
        DataType::Decimal256(_, scale) => {
            let a = array.as_primitive::<Decimal256Type>();
            tag_fn(move |row, out| {
                let text = a.value(row).to_string();
                let (negative, digits) = match text.strip_prefix('-') {
                    Some(digits) => (true, digits),
                    None => (false, text.as_str()),
                };
                decimal_text(negative, digits.as_bytes(), scale, out);
                Ok(())
            })
        }
        _ => return None,
    })
}

/// Append `bytes` in standard base64 with padding.
pub fn base64(bytes: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| ALPHABET[((n >> shift) & 63) as usize];
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { b'=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { b'=' });
    }
}
