//! `mask`: hashes or redacts string columns (PII).
//!
//! Config: `{"columns": ["email", "name"], "method": "hash", "salt": "", "replacement": "***"}`.
//! - `method` `"hash"` (the default) replaces each value by the lowercase hex SHA-256 of
//!   `salt + value`; `"redact"` replaces it by `replacement` (default `"***"`).
//! - Nulls stay null; the schema is unchanged.
//! - A configured column that is missing, or not Utf8 / LargeUtf8 / Utf8View, is an
//!   invalid-input error naming it.

use std::sync::Arc;

use fastlane_guest::array::builder::{GenericStringBuilder, StringViewBuilder};
use fastlane_guest::array::cast::AsArray;
use fastlane_guest::array::{Array, ArrayRef, OffsetSizeTrait};
use fastlane_guest::{DataType, Error, Info, RecordBatch, Transform};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "mask",
  "description": "Hashes or redacts string columns; nulls stay null.",
  "type": "object",
  "properties": {
    "columns": {
      "type": "array",
      "items": { "type": "string" },
      "minItems": 1,
      "description": "String columns to mask (Utf8, LargeUtf8 or Utf8View)."
    },
    "method": {
      "enum": ["hash", "redact"],
      "default": "hash",
      "description": "hash: lowercase hex SHA-256 of salt + value; redact: the replacement string."
    },
    "salt": { "type": "string", "default": "", "description": "Prepended to each value before hashing." },
    "replacement": { "type": "string", "default": "***", "description": "What redact writes instead of each value." }
  },
  "required": ["columns"],
  "additionalProperties": false
}"#;

/// The config, as documented in the crate docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    columns: Vec<String>,
    #[serde(default)]
    method: Method,
    #[serde(default)]
    salt: String,
    #[serde(default = "default_replacement")]
    replacement: String,
}

fn default_replacement() -> String {
    "***".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Method {
    #[default]
    Hash,
    Redact,
}

/// Masks the configured columns.
struct Mask {
    columns: Vec<String>,
    method: Method,
    replacement: String,
    /// SHA-256 state after the salt, cloned for each value.
    salted: Sha256,
}

impl Mask {
    /// The masked value of one cell; `hex` is a scratch buffer.
    fn mask_value<'a>(&'a self, value: &str, hex: &'a mut String) -> &'a str {
        match self.method {
            Method::Redact => &self.replacement,
            Method::Hash => {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                let digest = self
                    .salted
                    .clone()
                    .chain_update(value.as_bytes())
                    .finalize();
                hex.clear();
                for byte in digest {
                    hex.push(DIGITS[usize::from(byte >> 4)] as char);
                    hex.push(DIGITS[usize::from(byte & 0xf)] as char);
                }
                hex
            }
        }
    }

    /// Masked copy of a Utf8 / LargeUtf8 array.
    fn mask_offsets<O: OffsetSizeTrait>(&self, values: &dyn Array) -> ArrayRef {
        let values = values.as_string::<O>();
        let value_len = match self.method {
            Method::Hash => 64,
            Method::Redact => self.replacement.len(),
        };
        let mut out =
            GenericStringBuilder::<O>::with_capacity(values.len(), values.len() * value_len);
        let mut hex = String::with_capacity(64);
        for value in values {
            match value {
                Some(v) => out.append_value(self.mask_value(v, &mut hex)),
                None => out.append_null(),
            }
        }
        Arc::new(out.finish())
    }

    /// Masked copy of a Utf8View array.
    fn mask_view(&self, values: &dyn Array) -> ArrayRef {
        let values = values.as_string_view();
        let mut out = StringViewBuilder::with_capacity(values.len());
        let mut hex = String::with_capacity(64);
        for value in values {
            match value {
                Some(v) => out.append_value(self.mask_value(v, &mut hex)),
                None => out.append_null(),
            }
        }
        Arc::new(out.finish())
    }
}

impl Transform for Mask {
    fn describe() -> Info {
        Info::new(
            "mask",
            env!("CARGO_PKG_VERSION"),
            "Hashes (salted SHA-256) or redacts string columns",
        )
        .with_config_schema(CONFIG_SCHEMA)
    }

    fn init(config: &str) -> Result<Self, Error> {
        let config: Config = fastlane_guest::parse_config(config)?;
        if config.columns.is_empty() {
            return Err(Error::InvalidConfig(
                "`columns` must name at least one column".into(),
            ));
        }
        Ok(Mask {
            columns: config.columns,
            method: config.method,
            replacement: config.replacement,
            salted: Sha256::new_with_prefix(config.salt.as_bytes()),
        })
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
        let schema = batch.schema();
        let mut columns = batch.columns().to_vec();
        for name in &self.columns {
            let Some((index, field)) = schema.column_with_name(name) else {
                return Err(Error::InvalidInput(format!(
                    "column `{name}` to mask not found"
                )));
            };
            let values = &columns[index];
            columns[index] = match field.data_type() {
                DataType::Utf8 => self.mask_offsets::<i32>(values),
                DataType::LargeUtf8 => self.mask_offsets::<i64>(values),
                DataType::Utf8View => self.mask_view(values),
                other => {
                    return Err(Error::InvalidInput(format!(
                        "column `{name}` to mask is {other}, not a string column (Utf8, LargeUtf8 or Utf8View)"
                    )))
                }
            };
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

fastlane_guest::export!(Mask);

#[cfg(test)]
mod tests {
    use fastlane_guest::array::{Int64Array, LargeStringArray, StringArray};
    use fastlane_guest::{Field, Schema};

    use super::*;

    fn people() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("email", DataType::Utf8, true),
            Field::new("name", DataType::LargeUtf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a@example.com"), None])),
                Arc::new(LargeStringArray::from(vec![Some("Ann"), Some("")])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn hashes_with_salt_and_keeps_nulls() {
        let mut mask = Mask::init(r#"{"columns": ["email", "name"], "salt": "s"}"#).unwrap();
        let out = mask.transform(people()).unwrap();
        assert_eq!(out.schema(), people().schema());
        let email = out.column(1).as_string::<i32>();
        assert_eq!(
            email.value(0),
            format!("{:x}", Sha256::digest(b"sa@example.com"))
        );
        assert!(email.is_null(1));
        let name = out.column(2).as_string::<i64>();
        // sha256("s"): the empty value hashes the salt alone.
        assert_eq!(name.value(1), format!("{:x}", Sha256::digest(b"s")));
    }

    #[test]
    fn redacts() {
        let mut mask = Mask::init(r#"{"columns": ["email"], "method": "redact"}"#).unwrap();
        let out = mask.transform(people()).unwrap();
        let email = out.column(1).as_string::<i32>();
        assert_eq!(email.value(0), "***");
        assert!(email.is_null(1));
    }

    #[test]
    fn errors_name_the_column() {
        let mut mask = Mask::init(r#"{"columns": ["phone"]}"#).unwrap();
        assert!(
            matches!(mask.transform(people()), Err(Error::InvalidInput(m)) if m.contains("phone"))
        );
        let mut mask = Mask::init(r#"{"columns": ["id"]}"#).unwrap();
        assert!(
            matches!(mask.transform(people()), Err(Error::InvalidInput(m)) if m.contains("id"))
        );
        assert!(matches!(
            Mask::init(r#"{"columns": ["a"], "method": "rot13"}"#),
            Err(Error::InvalidConfig(_))
        ));
    }
}
