//! Finding the files a `path` names and the one schema they share.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::config::{ReadOptions, SECTION};
use crate::file_format::FileFormat;
use crate::schema::{describe, difference};
use crate::{ConnectorError, Result};

/// The files `path` names, in sorted order: the file itself, or every regular file a glob
/// pattern matches. Hidden files (a leading `.`, like the `file` target's temp files) match only
/// a pattern that spells the dot.
pub(super) fn matching_files(path: &str) -> Result<Vec<PathBuf>> {
    if glob::Pattern::escape(path) == path {
        let file = PathBuf::from(path);
        // Fails early, naming the path, when the file is missing or unreadable.
        std::fs::metadata(&file).map_err(|e| ConnectorError::io(&file, e))?;
        return Ok(vec![file]);
    }
    let options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..Default::default()
    };
    let entries = glob::glob_with(path, options).map_err(|e| {
        ConnectorError::config(
            format!("{SECTION}.path"),
            format!("invalid glob pattern '{path}': {e}"),
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let file = entry.map_err(|e| {
            let at = e.path().to_path_buf();
            ConnectorError::io(at, e.into())
        })?;
        if file.is_file() {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err(ConnectorError::Other(format!("no file matches '{path}'")));
    }
    files.sort();
    Ok(files)
}

/// The schema of the run: Parquet files must match the first file exactly; CSV and JSON Lines
/// files are inferred one by one and their types widened where inference may differ by sample
/// (an all-empty column takes the other file's type, Int64 and Float64 become Float64).
/// CSV columns match by position and name; JSON Lines columns by name, and a key seen in
/// only some files becomes a nullable column.
pub(super) fn run_schema(files: &[PathBuf], opts: &ReadOptions) -> Result<SchemaRef> {
    let mut merged: Option<(Schema, &Path)> = None;
    for file in files {
        let schema = file_schema(file, opts)?;
        merged = Some(match merged {
            None => (schema, file),
            Some((base, first)) => {
                let joined = match opts.format {
                    FileFormat::Parquet => match difference(&base, &schema) {
                        None => Ok(base),
                        Some(diff) => Err(diff),
                    },
                    FileFormat::Csv => merge_by_position(&base, &schema),
                    FileFormat::Jsonl => merge_by_name(&base, &schema),
                };
                let base = joined.map_err(|diff| ConnectorError::Schema {
                    path: file.clone(),
                    message: format!("schema differs from '{}': {diff}", first.display()),
                })?;
                (base, first)
            }
        });
    }
    let (schema, _) = merged.ok_or_else(|| ConnectorError::Other("no file to read".into()))?;
    Ok(Arc::new(schema))
}

/// One file's schema: Parquet's own, or inferred from the first `infer_rows` rows.
fn file_schema(path: &Path, opts: &ReadOptions) -> Result<Schema> {
    let file = File::open(path).map_err(|e| ConnectorError::io(path, e))?;
    let context = || format!("{}: reading the schema", path.display());
    match opts.format {
        FileFormat::Parquet => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| {
                ConnectorError::Parquet {
                    context: context(),
                    source,
                }
            })?;
            Ok(builder.schema().as_ref().clone())
        }
        FileFormat::Csv => arrow::csv::reader::Format::default()
            .with_header(opts.has_header)
            .with_delimiter(opts.delimiter)
            .infer_schema(file, Some(opts.infer_rows))
            .map(|(schema, _rows)| schema)
            .map_err(|source| ConnectorError::Arrow {
                context: context(),
                source,
            }),
        FileFormat::Jsonl => arrow::json::reader::infer_json_schema_from_seekable(
            BufReader::new(file),
            Some(opts.infer_rows),
        )
        .map(|(schema, _rows)| schema)
        .map_err(|source| ConnectorError::Arrow {
            context: context(),
            source,
        }),
    }
}

fn merge_by_position(base: &Schema, next: &Schema) -> Result<Schema, String> {
    let same_names = base.fields().len() == next.fields().len()
        && base
            .fields()
            .iter()
            .zip(next.fields())
            .all(|(a, b)| a.name() == b.name());
    if !same_names {
        return Err(difference(base, next).unwrap_or_default());
    }
    let fields = base
        .fields()
        .iter()
        .zip(next.fields())
        .enumerate()
        .map(|(i, (a, b))| merge_field(a, b).ok_or_else(|| type_conflict(i, a, b)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Schema::new(fields))
}

fn merge_by_name(base: &Schema, next: &Schema) -> Result<Schema, String> {
    let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
    for b in next.fields() {
        match fields.iter().position(|a| a.name() == b.name()) {
            Some(i) => {
                fields[i] =
                    merge_field(&fields[i], b).ok_or_else(|| type_conflict(i, &fields[i], b))?
            }
            None => fields.push(b.as_ref().clone().with_nullable(true)),
        }
    }
    Ok(Schema::new(fields))
}

/// The field both inferred fields fit in, if any.
fn merge_field(a: &Field, b: &Field) -> Option<Field> {
    let data_type = match (a.data_type(), b.data_type()) {
        (x, y) if x == y => x.clone(),
        (DataType::Null, t) | (t, DataType::Null) => t.clone(),
        (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => {
            DataType::Float64
        }
        _ => return None,
    };
    Some(Field::new(
        a.name(),
        data_type,
        a.is_nullable() || b.is_nullable(),
    ))
}

fn type_conflict(i: usize, a: &Field, b: &Field) -> String {
    format!(
        "column {}: expected {}, found {}",
        i + 1,
        describe(a),
        describe(b)
    )
}
