//! A key column's values as query parameters, for counting which keys a table holds.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use mysql_async::Value;

use crate::{ConnectorError, Result};

/// Every value of `column` as a parameter the server compares the way it compares the column:
/// integers as integers, text and bytes as bytes, anything else as its text.
pub(super) fn values(column: &ArrayRef) -> Result<Vec<Value>> {
    let cast = |to: &DataType| {
        arrow::compute::cast(column, to).map_err(|source| ConnectorError::Arrow {
            context: "reading the batch's keys".into(),
            source,
        })
    };
    let value_or_null = |valid: bool, v: Value| if valid { v } else { Value::NULL };
    Ok(match column.data_type() {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let ints = cast(&DataType::Int64)?;
            let ints = ints.as_primitive::<Int64Type>();
            (0..ints.len())
                .map(|i| value_or_null(ints.is_valid(i), Value::Int(ints.value(i))))
                .collect()
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let ints = cast(&DataType::UInt64)?;
            let ints = ints.as_primitive::<UInt64Type>();
            (0..ints.len())
                .map(|i| value_or_null(ints.is_valid(i), Value::UInt(ints.value(i))))
                .collect()
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cast(&DataType::Utf8)?;
            text.as_string::<i32>()
                .iter()
                .map(|v| v.map_or(Value::NULL, |s| Value::Bytes(s.as_bytes().to_vec())))
                .collect()
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let bytes = cast(&DataType::Binary)?;
            bytes
                .as_binary::<i32>()
                .iter()
                .map(|v| v.map_or(Value::NULL, |b| Value::Bytes(b.to_vec())))
                .collect()
        }
        _ => {
            let options = FormatOptions::default();
            let formatter =
                ArrayFormatter::try_new(column.as_ref(), &options).map_err(|source| {
                    ConnectorError::Arrow {
                        context: "reading the batch's keys".into(),
                        source,
                    }
                })?;
            (0..column.len())
                .map(|i| {
                    value_or_null(
                        column.is_valid(i),
                        Value::Bytes(formatter.value(i).to_string().into_bytes()),
                    )
                })
                .collect()
        }
    })
}
