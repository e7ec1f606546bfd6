//! `derive`: appends a Float64 column computed from two others.
//!
//! Config: `{"column": "total", "op": "multiply", "left": "price", "right": "quantity"}`.
//! - `op` is one of `add subtract multiply divide`; both operands are cast to Float64.
//! - The new column is nullable: null where either operand is null (or does not convert to
//!   a number), and null where `divide` meets a zero divisor.
//! - It is appended at the end; if the batch already has a column called `column`, that
//!   column is replaced in place instead.
//! - A missing operand column is an invalid-input error naming it.

use std::sync::Arc;

use fastlane_guest::arith::arity::binary;
use fastlane_guest::array::cast::AsArray;
use fastlane_guest::array::types::Float64Type;
use fastlane_guest::array::{Array, ArrayRef, Float64Array};
use fastlane_guest::buffer::{BooleanBuffer, NullBuffer};
use fastlane_guest::cast::cast;
use fastlane_guest::{column, DataType, Error, Field, Info, RecordBatch, Schema, Transform};
use serde::Deserialize;

const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "derive",
  "description": "Appends the Float64 column `column` = `left` op `right` (null if either is null, or on division by zero).",
  "type": "object",
  "properties": {
    "column": { "type": "string", "description": "Name of the new column (replaced in place if it exists)." },
    "op": { "enum": ["add", "subtract", "multiply", "divide"], "description": "Arithmetic operation." },
    "left": { "type": "string", "description": "Left operand column, cast to Float64." },
    "right": { "type": "string", "description": "Right operand column, cast to Float64." }
  },
  "required": ["column", "op", "left", "right"],
  "additionalProperties": false
}"#;

/// The config, as documented in the crate docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    column: String,
    op: Op,
    left: String,
    right: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
}

/// Computes one column from two.
struct Derive {
    config: Config,
}

impl Derive {
    /// The operand column `name`, as Float64.
    fn operand(&self, batch: &RecordBatch, name: &str) -> Result<ArrayRef, Error> {
        let values = column(batch, name)?;
        cast(values, &DataType::Float64).map_err(|e| {
            Error::InvalidInput(format!(
                "column `{name}` of type {} cannot be used as a number: {e}",
                values.data_type()
            ))
        })
    }
}

impl Transform for Derive {
    fn describe() -> Info {
        Info::new(
            "derive",
            env!("CARGO_PKG_VERSION"),
            "Appends a Float64 column computed from two others (add, subtract, multiply, divide)",
        )
        .with_config_schema(CONFIG_SCHEMA)
    }

    fn init(config: &str) -> Result<Self, Error> {
        Ok(Derive {
            config: fastlane_guest::parse_config(config)?,
        })
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
        let left = self.operand(&batch, &self.config.left)?;
        let right = self.operand(&batch, &self.config.right)?;
        let (left, right) = (
            left.as_primitive::<Float64Type>(),
            right.as_primitive::<Float64Type>(),
        );
        let op = self.config.op;
        let result = binary::<_, _, _, Float64Type>(left, right, |l, r| match op {
            Op::Add => l + r,
            Op::Subtract => l - r,
            Op::Multiply => l * r,
            Op::Divide => l / r,
        })?;
        let result = if op == Op::Divide {
            // Division by zero gives null, not ±inf or NaN (`!=` also treats -0.0 as zero).
            let divisors = right.values();
            let nonzero = BooleanBuffer::collect_bool(divisors.len(), |i| divisors[i] != 0.0);
            let nulls = NullBuffer::union(result.nulls(), Some(&NullBuffer::new(nonzero)));
            Float64Array::new(result.values().clone(), nulls)
        } else {
            result
        };

        let schema = batch.schema();
        let field = Arc::new(Field::new(&self.config.column, DataType::Float64, true));
        let mut fields = schema.fields().to_vec();
        let mut columns = batch.columns().to_vec();
        match schema.index_of(&self.config.column) {
            Ok(index) => {
                fields[index] = field;
                columns[index] = Arc::new(result);
            }
            Err(_) => {
                fields.push(field);
                columns.push(Arc::new(result));
            }
        }
        let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
    }
}

fastlane_guest::export!(Derive);

#[cfg(test)]
mod tests {
    use fastlane_guest::array::{Int32Array, StringArray};

    use super::*;

    fn lines() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("price", DataType::Float64, true),
            Field::new("quantity", DataType::Int32, true),
            Field::new("sku", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![
                    Some(2.5),
                    None,
                    Some(3.0),
                    Some(1.0),
                ])),
                Arc::new(Int32Array::from(vec![Some(4), Some(1), Some(0), None])),
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
            ],
        )
        .unwrap()
    }

    fn derive(op: &str) -> Vec<Option<f64>> {
        let config =
            format!(r#"{{"column":"total","op":"{op}","left":"price","right":"quantity"}}"#);
        let out = Derive::init(&config).unwrap().transform(lines()).unwrap();
        assert_eq!(out.num_columns(), 4);
        assert_eq!(out.schema().field(3).name(), "total");
        out.column(3).as_primitive::<Float64Type>().iter().collect()
    }

    #[test]
    fn computes_with_nulls() {
        assert_eq!(derive("multiply"), [Some(10.0), None, Some(0.0), None]);
        assert_eq!(derive("add"), [Some(6.5), None, Some(3.0), None]);
        assert_eq!(derive("subtract"), [Some(-1.5), None, Some(3.0), None]);
        assert_eq!(derive("divide"), [Some(0.625), None, None, None]);
    }

    #[test]
    fn missing_operand_is_named() {
        let mut d =
            Derive::init(r#"{"column":"t","op":"add","left":"price","right":"qty"}"#).unwrap();
        assert!(matches!(d.transform(lines()), Err(Error::InvalidInput(m)) if m.contains("qty")));
        assert!(matches!(
            Derive::init(r#"{"column":"t","op":"pow","left":"a","right":"b"}"#),
            Err(Error::InvalidConfig(_))
        ));
    }
}
