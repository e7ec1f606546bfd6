//! Text read into the run's types under the rules of [`super::exact`]: CSV columns are read as
//! text and converted here, JSON Lines numbers are decoded by [`ExactNumbers`]. A value the type
//! cannot hold exactly is an error naming the row, never a changed value.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, PrimitiveArray,
    StringArray, UInt64Array,
};
use arrow::datatypes::{
    ArrowPrimitiveType, ArrowTimestampType, DataType, FieldRef, Float64Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt64Type,
};
use arrow::error::ArrowError;
use arrow::json::reader::{ArrayDecoder, DecoderContext, DecoderFactory, Tape, TapeElement};

use super::exact;

/// A value of a column that its type cannot hold.
#[derive(Debug)]
pub(super) struct BadValue {
    /// Row within the array.
    pub row: usize,
    /// The value as written (cut short).
    pub value: String,
}

/// Convert a text column to `to`, value by value.
pub(super) fn convert(text: &StringArray, to: &DataType) -> Result<ArrayRef, BadValue> {
    fn each<T, F>(text: &StringArray, parse: F) -> Result<Vec<Option<T>>, BadValue>
    where
        F: Fn(&str) -> Option<T>,
    {
        text.iter()
            .enumerate()
            .map(|(row, value)| match value {
                None => Ok(None),
                Some(v) => parse(v).map(Some).ok_or_else(|| BadValue {
                    row,
                    value: shown(v),
                }),
            })
            .collect()
    }
    fn timestamps<T: ArrowTimestampType>(
        text: &StringArray,
        unit: TimeUnit,
        zoned: bool,
        tz: Option<Arc<str>>,
    ) -> Result<ArrayRef, BadValue> {
        let values = each(text, |v| {
            exact::timestamp(v)
                .filter(|ts| ts.zoned == zoned)
                .and_then(|ts| ts.in_unit(unit))
        })?;
        Ok(Arc::new(
            PrimitiveArray::<T>::from_iter(values).with_timezone_opt(tz),
        ))
    }
    Ok(match to {
        DataType::Utf8 => Arc::new(text.clone()),
        DataType::Null => {
            if let Some(row) = (0..text.len()).find(|&i| text.is_valid(i)) {
                return Err(BadValue {
                    row,
                    value: shown(text.value(row)),
                });
            }
            arrow::array::new_null_array(&DataType::Null, text.len())
        }
        DataType::Boolean => Arc::new(BooleanArray::from(each(text, exact::boolean)?)),
        DataType::Int64 => Arc::new(Int64Array::from(each(text, exact::int64)?)),
        DataType::UInt64 => Arc::new(UInt64Array::from(each(text, exact::uint64)?)),
        DataType::Float64 => Arc::new(Float64Array::from(each(text, exact::float64)?)),
        DataType::Date32 => Arc::new(Date32Array::from(each(text, exact::date32)?)),
        DataType::Timestamp(unit, tz) => {
            let zoned = tz.is_some();
            let tz = tz.clone();
            match unit {
                TimeUnit::Second => timestamps::<TimestampSecondType>(text, *unit, zoned, tz)?,
                TimeUnit::Millisecond => {
                    timestamps::<TimestampMillisecondType>(text, *unit, zoned, tz)?
                }
                TimeUnit::Microsecond => {
                    timestamps::<TimestampMicrosecondType>(text, *unit, zoned, tz)?
                }
                TimeUnit::Nanosecond => {
                    timestamps::<TimestampNanosecondType>(text, *unit, zoned, tz)?
                }
            }
        }
        other => {
            return Err(BadValue {
                row: 0,
                value: format!("(no text conversion to {other})"),
            })
        }
    })
}

/// A value as shown in a message: at most 60 characters.
pub(super) fn shown(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// The JSON reader's decoders for `Int64`, `UInt64` and `Float64` columns (at any depth),
/// replaced by ones that take a number only when the type holds it exactly as written: the
/// stock decoders read `1.5` into an integer column as `1` and `18446744073709551615` into a
/// float column as `1.8446744073709552e19`.
#[derive(Debug)]
pub(super) struct ExactNumbers;

impl DecoderFactory for ExactNumbers {
    fn make_default_decoder(
        &self,
        _ctx: &DecoderContext,
        field: &FieldRef,
        _is_nullable: bool,
    ) -> Result<Option<Box<dyn ArrayDecoder>>, ArrowError> {
        Ok(match field.data_type() {
            DataType::Int64 => Some(Box::new(NumberDecoder::<Int64Type>::new(
                field,
                exact::int64,
            ))),
            DataType::UInt64 => Some(Box::new(NumberDecoder::<UInt64Type>::new(
                field,
                exact::uint64,
            ))),
            DataType::Float64 => Some(Box::new(NumberDecoder::<Float64Type>::new(
                field, json_float,
            ))),
            _ => None,
        })
    }
}

/// A JSON number literal as an exact `f64` (JSON has no `NaN` or `inf` literals).
fn json_float(text: &str) -> Option<f64> {
    exact::float64(text).filter(|v| v.is_finite())
}

struct NumberDecoder<T: ArrowPrimitiveType> {
    name: String,
    parse: fn(&str) -> Option<T::Native>,
}

impl<T: ArrowPrimitiveType> NumberDecoder<T> {
    fn new(field: &FieldRef, parse: fn(&str) -> Option<T::Native>) -> Self {
        Self {
            name: field.name().clone(),
            parse,
        }
    }
}

impl<T: ArrowPrimitiveType> ArrayDecoder for NumberDecoder<T> {
    fn decode(&mut self, tape: &Tape<'_>, pos: &[u32]) -> Result<ArrayRef, ArrowError> {
        let mut values = Vec::with_capacity(pos.len());
        for &p in pos {
            values.push(match tape.get(p) {
                TapeElement::Null => None,
                TapeElement::Number(idx) => {
                    let text = tape.get_string(idx);
                    Some((self.parse)(text).ok_or_else(|| {
                        ArrowError::JsonError(format!(
                            "`{}`: {} does not fit its column's type {} exactly (declare the key as \"string\" in `types` to keep it as written)",
                            self.name,
                            shown(text),
                            T::DATA_TYPE
                        ))
                    })?)
                }
                _ => return Err(tape.error(p, &T::DATA_TYPE.to_string())),
            });
        }
        Ok(Arc::new(
            PrimitiveArray::<T>::from_iter(values).with_data_type(T::DATA_TYPE),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_converts_only_where_the_type_holds_it() {
        let text = StringArray::from(vec![Some("1"), None, Some("-7")]);
        let ints = convert(&text, &DataType::Int64).unwrap();
        assert_eq!(
            ints.as_any().downcast_ref::<Int64Array>().unwrap(),
            &Int64Array::from(vec![Some(1), None, Some(-7)])
        );
        let bad = convert(&StringArray::from(vec!["1", "00042"]), &DataType::Int64).unwrap_err();
        assert_eq!((bad.row, bad.value.as_str()), (1, "\"00042\""));

        let zoned = DataType::Timestamp(TimeUnit::Second, Some("UTC".into()));
        assert!(convert(&StringArray::from(vec!["2024-01-01T00:00:00Z"]), &zoned).is_ok());
        let naive_in_zoned =
            convert(&StringArray::from(vec!["2024-01-01T00:00:00"]), &zoned).unwrap_err();
        assert_eq!(naive_in_zoned.row, 0);
        let ms = DataType::Timestamp(TimeUnit::Millisecond, None);
        assert!(convert(&StringArray::from(vec!["2024-01-01 00:00:00.1234"]), &ms).is_err());
        assert!(convert(&StringArray::from(vec![Some("x")]), &DataType::Null).is_err());
        assert!(shown(&"y".repeat(500)).len() < 70);
    }
}
