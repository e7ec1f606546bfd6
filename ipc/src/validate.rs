//! Full validation of record batches decoded from untrusted bytes.
//!
//! Equivalent to arrow's `ArrayData::validate_full`, with one difference: UTF-8 string values are
//! checked with SIMD (`simdutf8`) over the whole value span plus a char-boundary test at every
//! offset, instead of arrow's scalar check. That check was most of the host's cost per batch.

use arrow_array::{Array, RecordBatch};
use arrow_buffer::ArrowNativeType;
use arrow_data::ArrayData;
use arrow_schema::{ArrowError, DataType};

/// Validate every column of `batch` as arrow's full validation would.
pub fn validate_batch(batch: &RecordBatch) -> Result<(), ArrowError> {
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(ArrowError::InvalidArgumentError(format!(
                "column {} is declared non-nullable but holds nulls",
                field.name()
            )));
        }
        validate(&column.to_data()).map_err(|e| {
            ArrowError::InvalidArgumentError(format!("column {}: {e}", field.name()))
        })?;
    }
    Ok(())
}

fn validate(data: &ArrayData) -> Result<(), ArrowError> {
    data.validate()?;
    data.validate_nulls()?;
    match data.data_type() {
        DataType::Utf8 => validate_utf8::<i32>(data)?,
        DataType::LargeUtf8 => validate_utf8::<i64>(data)?,
        _ => data.validate_values()?,
    }
    for (i, child) in data.child_data().iter().enumerate() {
        validate(child)
            .map_err(|e| ArrowError::InvalidArgumentError(format!("child #{i}: {e}")))?;
    }
    Ok(())
}

/// Offsets monotonic and within the values, the value span valid UTF-8, every offset on a
/// character boundary: then each string between two offsets is valid UTF-8.
fn validate_utf8<O: ArrowNativeType>(data: &ArrayData) -> Result<(), ArrowError> {
    let invalid = |m: String| Err(ArrowError::InvalidArgumentError(m));
    let (Some(offsets), Some(values)) = (data.buffers().first(), data.buffers().get(1)) else {
        return invalid("string array without offset or value buffer".into());
    };
    let offsets = offsets.typed_data::<O>();
    let Some(offsets) = offsets.get(data.offset()..data.offset() + data.len() + 1) else {
        return invalid("offset buffer too short".into());
    };
    let values = values.as_slice();
    let as_index = |o: O| {
        o.to_usize()
            .ok_or_else(|| ArrowError::InvalidArgumentError("negative offset".into()))
    };
    let first = as_index(offsets[0])?;
    let last = as_index(offsets[offsets.len() - 1])?;
    if first > last || last > values.len() {
        return invalid(format!(
            "offsets {first}..{last} outside the {} value bytes",
            values.len()
        ));
    }
    let span = &values[first..last];
    if simdutf8::basic::from_utf8(span).is_err() {
        return invalid("string values are not valid UTF-8".into());
    }
    let mut previous = first;
    for (i, &offset) in offsets.iter().enumerate() {
        let at = as_index(offset)?;
        if at < previous || at > last {
            return invalid(format!("offset {i} ({at}) is out of order"));
        }
        // A UTF-8 continuation byte (0b10xx_xxxx) cannot start a string.
        if at < last && (values[at] as i8) < -0x40 {
            return invalid(format!("offset {i} ({at}) splits a UTF-8 character"));
        }
        previous = at;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::StringArray;
    use arrow_buffer::Buffer;

    fn string_data(offsets: &[i32], values: &[u8]) -> ArrayData {
        let builder = ArrayData::builder(DataType::Utf8)
            .len(offsets.len() - 1)
            .add_buffer(Buffer::from_slice_ref(offsets))
            .add_buffer(Buffer::from_slice_ref(values));
        // SAFETY: test input, only ever handed to the validator under test.
        unsafe { builder.build_unchecked() }
    }

    #[test]
    fn accepts_what_arrow_accepts() {
        let array = StringArray::from(vec![Some("plain"), None, Some("naïve 😀"), Some("")]);
        validate(&array.to_data()).unwrap();
        validate(&array.slice(1, 2).to_data()).unwrap();
        validate(&string_data(&[0, 3, 7], "abcdéf".as_bytes())).unwrap();
    }

    #[test]
    fn rejects_invalid_utf8() {
        let err = validate(&string_data(&[0, 2], &[0x61, 0xff])).unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn rejects_an_offset_inside_a_character() {
        // "é" is two bytes: an offset of 2 inside "aé" splits it.
        let err = validate(&string_data(&[0, 2, 3], "aé".as_bytes())).unwrap_err();
        assert!(
            err.to_string().contains("splits a UTF-8 character"),
            "{err}"
        );
    }

    #[test]
    fn rejects_out_of_order_and_out_of_bounds_offsets() {
        assert!(validate(&string_data(&[0, 3, 1], b"abc")).is_err());
        assert!(validate(&string_data(&[0, 9], b"abc")).is_err());
        assert!(validate(&string_data(&[-1, 2], b"abc")).is_err());
    }
}
