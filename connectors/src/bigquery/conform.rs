//! Storage Read API batches → the source's schema.
//!
//! The Storage Read API sends Arrow already; its schema is BigQuery's (or, on an emulator, the
//! emulator's) and may differ from the one [`super::types`] gives the REST path in ways that
//! do not change a value: list element names and nullability, the spelling of the UTC zone, a
//! narrower decimal precision, large/view string variants, columns picked by name in another
//! order, or a REPEATED value sent as a null list. [`plan`] checks, before any row is read,
//! that every column can be brought to the source's type without changing a value; [`batch`]
//! does it for each record batch, so both read paths give identical batches.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray, UInt64Array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

/// For each column of `expected`, its index in `received`; an error says which column cannot
/// be read faithfully and why.
pub(super) fn plan(received: &Schema, expected: &Schema) -> Result<Vec<usize>, String> {
    expected
        .fields()
        .iter()
        .map(|field| {
            let index = find(received.fields(), field.name()).ok_or_else(|| {
                format!(
                    "the read session has no column `{}` (it has: {})",
                    field.name(),
                    names(received.fields())
                )
            })?;
            compatible(
                received.field(index).data_type(),
                field.data_type(),
                field.name(),
            )?;
            Ok(index)
        })
        .collect()
}

/// `batch` (of the received schema) with the columns, types and field names of `expected`.
pub(super) fn batch(
    batch: &RecordBatch,
    expected: &SchemaRef,
    columns: &[usize],
) -> Result<RecordBatch, String> {
    let arrays = expected
        .fields()
        .iter()
        .zip(columns)
        .map(|(field, &index)| {
            let column = batch
                .columns()
                .get(index)
                .ok_or_else(|| format!("a batch lacks column `{}`", field.name()))?;
            conform(column, field, field.name())
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(expected.clone(), arrays).map_err(|e| e.to_string())
}

/// A field of `fields` named `name`: the exact name, else the same name in another case
/// (BigQuery column names are case-insensitive).
fn find(fields: &Fields, name: &str) -> Option<usize> {
    fields.iter().position(|f| f.name() == name).or_else(|| {
        fields
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    })
}

fn names(fields: &Fields) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    names.join(", ")
}

/// Whether values of `received` can become `expected` exactly.
fn compatible(received: &DataType, expected: &DataType, path: &str) -> Result<(), String> {
    let ok = match (received, expected) {
        (DataType::List(r), DataType::List(e)) => {
            return compatible(r.data_type(), e.data_type(), &format!("{path}[]"))
        }
        (DataType::Struct(r), DataType::Struct(e)) => {
            for field in e.iter() {
                let child = format!("{path}.{}", field.name());
                let index = find(r, field.name()).ok_or_else(|| {
                    format!(
                        "the read session has no sub-field `{child}` (it has: {})",
                        names(r)
                    )
                })?;
                compatible(r[index].data_type(), field.data_type(), &child)?;
            }
            return Ok(());
        }
        (DataType::Timestamp(ru, rz), DataType::Timestamp(eu, ez)) => {
            ru == eu && rz.as_deref().map(is_utc) == ez.as_deref().map(is_utc)
        }
        (DataType::Decimal128(rp, rs), DataType::Decimal128(ep, es))
        | (DataType::Decimal128(rp, rs), DataType::Decimal256(ep, es))
        | (DataType::Decimal256(rp, rs), DataType::Decimal256(ep, es)) => {
            // Exact when neither the fraction nor the integer part loses digits.
            rs <= es && i16::from(*rp) - i16::from(*rs) <= i16::from(*ep) - i16::from(*es)
        }
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, DataType::Utf8) => true,
        (DataType::Binary | DataType::LargeBinary | DataType::BinaryView, DataType::Binary) => true,
        (r, e) => r == e,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "column `{path}`: the Storage Read API sends {received}, which does not convert \
             exactly to {expected}"
        ))
    }
}

/// A UTC time zone, however spelled.
fn is_utc(zone: &str) -> bool {
    matches!(
        zone,
        "UTC" | "utc" | "Etc/UTC" | "+00:00" | "Z" | "GMT" | "Etc/GMT"
    )
}

/// `array` with the type of `expected` (checked by [`plan`]).
fn conform(array: &ArrayRef, expected: &Field, path: &str) -> Result<ArrayRef, String> {
    let conformed: ArrayRef = match expected.data_type() {
        DataType::List(item) => {
            let list = array.as_list_opt::<i32>().ok_or_else(|| {
                format!(
                    "column `{path}`: expected a list, got {}",
                    array.data_type()
                )
            })?;
            let list = if !expected.is_nullable() && list.null_count() > 0 {
                // BigQuery has no NULL arrays: a null list is an empty one.
                nulls_to_empty(list)?
            } else {
                list.clone()
            };
            let values = conform(list.values(), item, &format!("{path}[]"))?;
            let nulls = if expected.is_nullable() {
                list.nulls().cloned()
            } else {
                None
            };
            Arc::new(
                ListArray::try_new(item.clone(), list.offsets().clone(), values, nulls)
                    .map_err(|e| format!("column `{path}`: {e}"))?,
            )
        }
        DataType::Struct(fields) => {
            let record = array.as_struct_opt().ok_or_else(|| {
                format!(
                    "column `{path}`: expected a record, got {}",
                    array.data_type()
                )
            })?;
            let children = fields
                .iter()
                .map(|field| {
                    let child = format!("{path}.{}", field.name());
                    let index = find(record.fields(), field.name())
                        .ok_or_else(|| format!("a batch lacks the sub-field `{child}`"))?;
                    conform(record.column(index), field, &child)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(
                StructArray::try_new_with_length(
                    fields.clone(),
                    children,
                    record.nulls().cloned(),
                    record.len(),
                )
                .map_err(|e| format!("column `{path}`: {e}"))?,
            )
        }
        wanted if array.data_type() == wanted => array.clone(),
        wanted => arrow::compute::cast(array.as_ref(), wanted)
            .map_err(|e| format!("column `{path}`: {e}"))?,
    };
    Ok(conformed)
}

/// `list` with its null entries turned into empty lists (and no null buffer).
fn nulls_to_empty(list: &ListArray) -> Result<ListArray, String> {
    let offsets = list.value_offsets();
    let null_holds_values =
        (0..list.len()).any(|i| list.is_null(i) && offsets[i] != offsets[i + 1]);
    if !null_holds_values {
        return ListArray::try_new(
            list_field(list),
            list.offsets().clone(),
            list.values().clone(),
            None,
        )
        .map_err(|e| e.to_string());
    }
    // A null entry may still span values: keep only the valid entries' values.
    let mut keep = Vec::new();
    let mut new_offsets = Vec::with_capacity(list.len() + 1);
    new_offsets.push(0i32);
    for i in 0..list.len() {
        if list.is_valid(i) {
            keep.extend((offsets[i] as u64)..(offsets[i + 1] as u64));
        }
        let len = i32::try_from(keep.len()).map_err(|_| "a list is too long".to_string())?;
        new_offsets.push(len);
    }
    let values = arrow::compute::take(list.values().as_ref(), &UInt64Array::from(keep), None)
        .map_err(|e| e.to_string())?;
    ListArray::try_new(
        list_field(list),
        OffsetBuffer::new(new_offsets.into()),
        values,
        None,
    )
    .map_err(|e| e.to_string())
}

fn list_field(list: &ListArray) -> Arc<Field> {
    match list.data_type() {
        DataType::List(field) => field.clone(),
        other => Arc::new(Field::new("item", other.clone(), true)),
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        Int64Array, Int64Builder, ListBuilder, StringArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Int64Type, TimeUnit};

    use super::*;

    #[test]
    fn columns_are_found_by_name_and_checked() {
        let received = Schema::new(vec![
            Field::new("b", DataType::Utf8, true),
            Field::new("a", DataType::Int64, true),
            Field::new("g", DataType::Binary, true),
        ]);
        let expected = Schema::new(vec![
            Field::new("A", DataType::Int64, false),
            Field::new("b", DataType::Utf8, true),
        ]);
        assert_eq!(plan(&received, &expected).unwrap(), [1, 0]);
        let geography = Schema::new(vec![Field::new("g", DataType::Utf8, true)]);
        let err = plan(&received, &geography).unwrap_err();
        assert!(
            err.contains("column `g`: the Storage Read API sends Binary"),
            "{err}"
        );
        let missing = Schema::new(vec![Field::new("z", DataType::Utf8, true)]);
        assert!(plan(&received, &missing)
            .unwrap_err()
            .contains("no column `z`"));
    }

    #[test]
    fn equivalent_types_are_accepted_and_others_refused() {
        let ts = |tz: Option<&str>| DataType::Timestamp(TimeUnit::Microsecond, tz.map(Into::into));
        assert!(compatible(&ts(Some("+00:00")), &ts(Some("UTC")), "t").is_ok());
        assert!(compatible(&ts(None), &ts(Some("UTC")), "t").is_err());
        assert!(compatible(
            &DataType::Timestamp(TimeUnit::Nanosecond, None),
            &ts(None),
            "t"
        )
        .is_err());
        assert!(compatible(
            &DataType::Decimal128(20, 9),
            &DataType::Decimal128(38, 9),
            "n"
        )
        .is_ok());
        assert!(compatible(
            &DataType::Decimal128(38, 10),
            &DataType::Decimal128(38, 9),
            "n"
        )
        .is_err());
        // What the emulator sends for a NUMERIC computed as DECIMAL(18, 3): exact in (38, 9).
        assert!(compatible(
            &DataType::Decimal128(18, 3),
            &DataType::Decimal128(38, 9),
            "n"
        )
        .is_ok());
        assert!(compatible(
            &DataType::Decimal128(38, 3),
            &DataType::Decimal128(38, 9),
            "n"
        )
        .is_err());
        assert!(compatible(
            &DataType::Decimal128(38, 38),
            &DataType::Decimal256(76, 38),
            "n"
        )
        .is_ok());
        let list = |name: &str, nullable| {
            DataType::List(Arc::new(Field::new(name, DataType::Int64, nullable)))
        };
        assert!(compatible(&list("l", true), &list("item", false), "r").is_ok());
        assert!(compatible(&DataType::Int32, &DataType::Int64, "i").is_err());
    }

    #[test]
    fn batches_take_the_expected_types_and_null_lists_become_empty() {
        let mut lists = ListBuilder::new(Int64Builder::new());
        lists.append_value([Some(1), Some(2)]);
        lists.append_null();
        lists.append_value([Some(3)]);
        let lists = lists.finish();
        let received = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef,
            ),
            (
                "ts",
                Arc::new(TimestampMicrosecondArray::from(vec![1, 2, 3]).with_timezone("+00:00"))
                    as ArrayRef,
            ),
            ("r", Arc::new(lists) as ArrayRef),
            ("i", Arc::new(Int64Array::from(vec![7, 8, 9])) as ArrayRef),
        ])
        .unwrap();
        let item = Arc::new(Field::new("item", DataType::Int64, false));
        let expected = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, false),
            Field::new("r", DataType::List(item), false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let columns = plan(&received.schema(), &expected).unwrap();
        let out = batch(&received, &expected, &columns).unwrap();
        assert_eq!(out.schema(), expected);
        let r = out.column(1).as_list::<i32>();
        assert_eq!(r.null_count(), 0);
        assert_eq!(r.value_offsets(), &[0, 2, 2, 3]);
        assert_eq!(
            r.values().as_primitive::<Int64Type>().values().to_vec(),
            [1, 2, 3]
        );
        assert_eq!(
            out.column(2)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(2),
            3
        );
    }
}
