//! `filter`: keeps the rows where one column compares to a value.
//!
//! Config: `{"column": "amount", "op": "gt", "value": 100}`.
//! - `op` is one of `eq ne gt ge lt le` (with a `value`: a JSON number, string or bool,
//!   converted to the column's type, so `"2024-01-01"` works against a date column), or
//!   `is_null` / `is_not_null` (no `value`).
//! - Rows where the comparison is null (a null cell) are dropped.
//! - A number that does not fit the column's numeric type (`100.5` against an integer
//!   column, `300` against `UInt8`) is compared as Float64.

use fastlane_guest::arith::boolean::{is_not_null, is_null};
use fastlane_guest::array::{Array, ArrayRef, BooleanArray, Datum, Scalar, StringArray};
use fastlane_guest::cast::{cast, cast_with_options, CastOptions};
use fastlane_guest::ord::cmp;
use fastlane_guest::select::filter::filter_record_batch;
use fastlane_guest::{column, ArrowError, DataType, Error, Info, RecordBatch, Transform};
use serde::Deserialize;
use serde_json::Value;

const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "filter",
  "description": "Keeps the rows where `column` compares to `value` with `op`; rows where the comparison is null are dropped.",
  "type": "object",
  "properties": {
    "column": { "type": "string", "description": "Column to test." },
    "op": {
      "enum": ["eq", "ne", "gt", "ge", "lt", "le", "is_null", "is_not_null"],
      "description": "Comparison; is_null and is_not_null take no value."
    },
    "value": {
      "type": ["number", "string", "boolean"],
      "description": "Value to compare with, converted to the column's type."
    }
  },
  "required": ["column", "op"],
  "additionalProperties": false,
  "if": { "properties": { "op": { "enum": ["is_null", "is_not_null"] } } },
  "then": { "not": { "required": ["value"] } },
  "else": { "required": ["value"] }
}"#;

/// The config, as documented in the crate docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    column: String,
    op: Op,
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    IsNull,
    IsNotNull,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::IsNull => "is_null",
            Op::IsNotNull => "is_not_null",
        }
    }

    /// The comparison kernel of a binary op; `None` for the null tests.
    fn kernel(self) -> Option<Kernel> {
        match self {
            Op::Eq => Some(cmp::eq),
            Op::Ne => Some(cmp::neq),
            Op::Gt => Some(cmp::gt),
            Op::Ge => Some(cmp::gt_eq),
            Op::Lt => Some(cmp::lt),
            Op::Le => Some(cmp::lt_eq),
            Op::IsNull | Op::IsNotNull => None,
        }
    }
}

/// An arrow comparison kernel.
type Kernel = fn(&dyn Datum, &dyn Datum) -> Result<BooleanArray, ArrowError>;

/// What a row is tested with.
#[derive(Debug)]
enum Predicate {
    IsNull,
    IsNotNull,
    /// A comparison with the config's value, kept as text until the column's type is known.
    Compare {
        op: Op,
        kernel: Kernel,
        text: String,
        is_number: bool,
    },
}

/// The value converted for one column type: either to that type, or (a number that does not
/// fit the column's numeric type) both sides to Float64.
#[derive(Debug)]
struct Comparand {
    column_type: DataType,
    value: ArrayRef,
    as_float: bool,
}

/// Keeps rows matching a predicate.
struct Filter {
    column: String,
    predicate: Predicate,
    /// The converted value for the last column type seen (batches rarely change type).
    comparand: Option<Comparand>,
}

impl Filter {
    fn from_config(config: Config) -> Result<Self, Error> {
        let Config { column, op, value } = config;
        let predicate = match (op.kernel(), value.filter(|v| !v.is_null())) {
            (None, None) if op == Op::IsNull => Predicate::IsNull,
            (None, None) => Predicate::IsNotNull,
            (None, Some(v)) => {
                return Err(Error::InvalidConfig(format!(
                    "`op` \"{}\" takes no `value`, got {v}",
                    op.name()
                )))
            }
            (Some(_), None) => {
                return Err(Error::InvalidConfig(format!(
                    "`op` \"{}\" needs a `value` (number, string or bool)",
                    op.name()
                )))
            }
            (Some(kernel), Some(value)) => {
                let (text, is_number) = match value {
                    Value::Number(n) => (n.to_string(), true),
                    Value::String(s) => (s, false),
                    Value::Bool(b) => (b.to_string(), false),
                    other => {
                        return Err(Error::InvalidConfig(format!(
                            "`value` must be a number, string or bool, got {other}"
                        )))
                    }
                };
                Predicate::Compare {
                    op,
                    kernel,
                    text,
                    is_number,
                }
            }
        };
        Ok(Filter::new(column, predicate))
    }

    fn new(column: String, predicate: Predicate) -> Self {
        Filter {
            column,
            predicate,
            comparand: None,
        }
    }

    /// The rows to keep (null = drop).
    fn mask(&mut self, values: &ArrayRef) -> Result<BooleanArray, Error> {
        let (op, kernel, text, is_number) = match &self.predicate {
            Predicate::IsNull => return Ok(is_null(values)?),
            Predicate::IsNotNull => return Ok(is_not_null(values)?),
            Predicate::Compare {
                op,
                kernel,
                text,
                is_number,
            } => (*op, *kernel, text, *is_number),
        };
        let column_type = values.data_type();
        let cached = matches!(&self.comparand, Some(c) if &c.column_type == column_type);
        if !cached {
            self.comparand = Some(convert(&self.column, text, is_number, column_type)?);
        }
        let Some(comparand) = &self.comparand else {
            return Err(Error::Failed("comparison value missing".into()));
        };
        let float_values;
        let lhs: &dyn Array = if comparand.as_float {
            float_values = cast(values, &DataType::Float64)?;
            &float_values
        } else {
            values
        };
        let rhs = Scalar::new(&comparand.value);
        let mask = kernel(&lhs, &rhs);
        mask.map_err(|e| {
            Error::InvalidInput(format!(
                "cannot compare column `{}` of type {column_type} with op \"{}\": {e}",
                self.column,
                op.name()
            ))
        })
    }
}

/// Converts the config's value (as text) to `column_type`.
fn convert(
    column: &str,
    text: &str,
    is_number: bool,
    column_type: &DataType,
) -> Result<Comparand, Error> {
    let text_array = StringArray::from(vec![text]);
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    match cast_with_options(&text_array, column_type, &strict) {
        Ok(value) => Ok(Comparand {
            column_type: column_type.clone(),
            value,
            as_float: false,
        }),
        Err(_) if is_number && column_type.is_numeric() => Ok(Comparand {
            column_type: column_type.clone(),
            value: cast_with_options(&text_array, &DataType::Float64, &strict)?,
            as_float: true,
        }),
        Err(e) => Err(Error::InvalidConfig(format!(
            "`value` {text:?} cannot be compared with column `{column}` of type {column_type}: {e}"
        ))),
    }
}

impl Transform for Filter {
    fn describe() -> Info {
        Info::new(
            "filter",
            env!("CARGO_PKG_VERSION"),
            "Keeps the rows where a column compares to a value",
        )
        .with_config_schema(CONFIG_SCHEMA)
    }

    fn init(config: &str) -> Result<Self, Error> {
        Filter::from_config(fastlane_guest::parse_config(config)?)
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
        let values = column(&batch, &self.column)?.clone();
        let mask = self.mask(&values)?;
        Ok(filter_record_batch(&batch, &mask)?)
    }
}

fastlane_guest::export!(Filter);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use fastlane_guest::array::{Float64Array, Int64Array, StringArray};
    use fastlane_guest::{Field, Schema};

    use super::*;

    fn orders() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("amount", DataType::Float64, true),
            Field::new("status", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(Float64Array::from(vec![
                    Some(50.0),
                    Some(150.0),
                    None,
                    Some(100.0),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("paid"),
                    None,
                    Some("paid"),
                    Some("open"),
                ])),
            ],
        )
        .unwrap()
    }

    fn ids(config: &str) -> Vec<i64> {
        let out = Filter::init(config).unwrap().transform(orders()).unwrap();
        let ids = out.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        ids.values().to_vec()
    }

    #[test]
    fn compares_in_the_column_type() {
        assert_eq!(ids(r#"{"column":"amount","op":"gt","value":100}"#), [2]);
        assert_eq!(ids(r#"{"column":"amount","op":"ge","value":100}"#), [2, 4]);
        assert_eq!(ids(r#"{"column":"amount","op":"ne","value":100}"#), [1, 2]);
        assert_eq!(
            ids(r#"{"column":"status","op":"eq","value":"paid"}"#),
            [1, 3]
        );
        assert_eq!(ids(r#"{"column":"id","op":"le","value":"2"}"#), [1, 2]);
        assert_eq!(ids(r#"{"column":"id","op":"lt","value":2.5}"#), [1, 2]);
    }

    #[test]
    fn null_tests() {
        assert_eq!(ids(r#"{"column":"amount","op":"is_null"}"#), [3]);
        assert_eq!(ids(r#"{"column":"status","op":"is_not_null"}"#), [1, 3, 4]);
    }

    #[test]
    fn errors_name_the_culprit() {
        let mut f = Filter::init(r#"{"column":"nope","op":"eq","value":1}"#).unwrap();
        let err = f.transform(orders()).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("nope")),
            "{err}"
        );

        for bad in [
            r#"{"column":"id","op":"like","value":1}"#,
            r#"{"column":"id","op":"gt"}"#,
            r#"{"column":"id","op":"is_null","value":1}"#,
            r#"{"column":"id","op":"gt","value":[1]}"#,
            r#"{"column":"id"}"#,
        ] {
            assert!(
                matches!(Filter::init(bad), Err(Error::InvalidConfig(_))),
                "{bad}"
            );
        }

        let mut f = Filter::init(r#"{"column":"amount","op":"gt","value":"lots"}"#).unwrap();
        assert!(matches!(
            f.transform(orders()),
            Err(Error::InvalidConfig(_))
        ));
    }
}
