//! `{{name}}`: upper-cases the string column named by the config's `column` (default `name`).
//! Nulls stay null; every other column passes through unchanged.

use std::sync::Arc;

use fastlane_guest::array::cast::AsArray;
use fastlane_guest::array::{ArrayRef, LargeStringArray, StringArray};
use fastlane_guest::{column, log, DataType, Error, Info, RecordBatch, Transform};
use serde::Deserialize;

const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "column": { "type": "string", "default": "name", "description": "String column to upper-case." }
  },
  "additionalProperties": false
}"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_column")]
    column: String,
}

fn default_column() -> String {
    "name".into()
}

struct Uppercase {
    column: String,
}

impl Transform for Uppercase {
    fn describe() -> Info {
        Info::new("{{name}}", env!("CARGO_PKG_VERSION"), "Upper-cases one string column")
            .with_config_schema(CONFIG_SCHEMA)
    }

    fn init(config: &str) -> Result<Self, Error> {
        let config: Config = fastlane_guest::parse_config(config)?;
        log::info(&format!("upper-casing column `{}`", config.column));
        Ok(Uppercase { column: config.column })
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
        let values = column(&batch, &self.column)?;
        let upper: ArrayRef = match values.data_type() {
            DataType::Utf8 => Arc::new(
                values
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_uppercase))
                    .collect::<StringArray>(),
            ),
            DataType::LargeUtf8 => Arc::new(
                values
                    .as_string::<i64>()
                    .iter()
                    .map(|v| v.map(str::to_uppercase))
                    .collect::<LargeStringArray>(),
            ),
            other => {
                return Err(Error::InvalidInput(format!(
                    "column `{}` is {other}, not a string column",
                    self.column
                )))
            }
        };
        let index = batch.schema().index_of(&self.column)?;
        let mut columns = batch.columns().to_vec();
        columns[index] = upper;
        Ok(RecordBatch::try_new(batch.schema(), columns)?)
    }
}

fastlane_guest::export!(Uppercase);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use fastlane_guest::array::{Int64Array, StringArray};
    use fastlane_guest::{Field, Schema};

    use super::*;

    #[test]
    fn upper_cases_and_keeps_nulls() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("ümlaut"), None, Some("日本")])),
            ],
        )
        .unwrap();
        let out = Uppercase::init("{}").unwrap().transform(batch).unwrap();
        let names = out.column(1).as_string::<i32>();
        assert_eq!(names.iter().collect::<Vec<_>>(), [Some("ÜMLAUT"), None, Some("日本")]);
    }

    #[test]
    fn a_missing_column_is_named() {
        assert!(Uppercase::init(r#"{"col": "x"}"#).is_err());
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
        let err = Uppercase::init("{}").unwrap().transform(batch).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
    }
}
