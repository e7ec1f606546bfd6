//! Finding the files a `path` names and the one schema they share.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::config::{ReadOptions, SECTION};
use super::exact;
use crate::file::format::FileFormat;
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
    let (schema, first) = merged.ok_or_else(|| ConnectorError::Other("no file to read".into()))?;
    Ok(Arc::new(settle_types(schema, first, opts)?))
}

/// The types columns end with: the declared ones, and text for a column no sampled row had a
/// value in (text holds whatever comes later; an empty type would drop it).
fn settle_types(schema: Schema, first: &Path, opts: &ReadOptions) -> Result<Schema> {
    if let Some(missing) = opts
        .types
        .keys()
        .find(|name| schema.field_with_name(name).is_err())
    {
        return Err(ConnectorError::config(
            format!("{SECTION}.types.{missing}"),
            format!(
                "'{}' has no column `{missing}` (its columns: {})",
                first.display(),
                crate::schema::names(&schema)
            ),
        ));
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match opts.types.get(f.name()) {
            Some(declared) => f.as_ref().clone().with_data_type(declared.clone()),
            None if f.data_type() == &DataType::Null => {
                f.as_ref().clone().with_data_type(DataType::Utf8)
            }
            None => f.as_ref().clone(),
        })
        .collect();
    Ok(Schema::new(fields))
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
        FileFormat::Csv => csv_schema(path, file, opts),
        FileFormat::Jsonl => {
            let schema = arrow::json::reader::infer_json_schema_from_seekable(
                BufReader::new(file),
                Some(opts.infer_rows),
            )
            .map(|(schema, _rows)| schema)
            .map_err(|source| ConnectorError::Arrow {
                context: context(),
                source,
            })?;
            jsonl_unsigned(path, schema, opts)
        }
    }
}

/// A CSV file's columns: the names from its header (or `column_N`), each typed with the
/// narrowest type that holds every sampled value exactly as written (see `exact`).
fn csv_schema(path: &Path, file: File, opts: &ReadOptions) -> Result<Schema> {
    let arrow_err = |source| ConnectorError::Arrow {
        context: format!("{}: reading the schema", path.display()),
        source,
    };
    let (names, _) = arrow::csv::reader::Format::default()
        .with_header(opts.has_header)
        .with_delimiter(opts.delimiter)
        .infer_schema(file, Some(1))
        .map_err(arrow_err)?;
    if names.fields().is_empty() {
        return Err(ConnectorError::Schema {
            path: path.to_path_buf(),
            message: if opts.has_header {
                "has no header line (the file is empty): a CSV file must name its columns in its first line (or set has_header to false)".into()
            } else {
                "is empty".into()
            },
        });
    }
    let text = as_text(&names);
    let file = File::open(path).map_err(|e| ConnectorError::io(path, e))?;
    let sample = arrow::csv::ReaderBuilder::new(text.clone())
        .with_header(opts.has_header)
        .with_delimiter(opts.delimiter)
        .with_batch_size(opts.infer_rows)
        .build(file)
        .map_err(arrow_err)?
        .next()
        .transpose()
        .map_err(arrow_err)?;
    let fields = text
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let values = sample.as_ref().map(|batch| {
                batch
                    .column(i)
                    .as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(exact::classify)
            });
            let inferred = values
                .and_then(exact::column_type)
                .unwrap_or(DataType::Null);
            Field::new(field.name(), inferred, true)
        })
        .collect::<Vec<_>>();
    Ok(Schema::new(fields))
}

/// `schema` with every column read as text (how CSV files are read before their values are
/// converted exactly).
pub(super) fn as_text(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

/// JSON Lines numbers above `i64::MAX` are inferred as `Float64`, which would round them: a
/// column (at any depth of nested objects) whose sampled numbers are all non-negative
/// integers that fit `u64` is `UInt64` instead.
fn jsonl_unsigned(path: &Path, schema: Schema, opts: &ReadOptions) -> Result<Schema> {
    let file = File::open(path).map_err(|e| ConnectorError::io(path, e))?;
    let mut fits_u64: Vec<Vec<String>> = Vec::new();
    collect_float_paths(schema.fields(), &mut Vec::new(), &mut fits_u64);
    if fits_u64.is_empty() {
        return Ok(schema);
    }
    let mut unsigned = vec![true; fits_u64.len()];
    let mut seen_big = vec![false; fits_u64.len()];
    for line in std::io::BufRead::lines(BufReader::new(file))
        .take(opts.infer_rows)
        .map_while(|l| l.ok())
    {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        for (i, path) in fits_u64.iter().enumerate() {
            let mut at = Some(&value);
            for key in path {
                at = at.and_then(|v| v.get(key));
            }
            match at {
                Some(serde_json::Value::Number(n)) => {
                    if n.as_u64().is_none() {
                        unsigned[i] = false;
                    } else if n.as_i64().is_none() {
                        seen_big[i] = true;
                    }
                }
                Some(serde_json::Value::Null) | None => {}
                Some(_) => unsigned[i] = false,
            }
        }
    }
    let chosen: Vec<&Vec<String>> = fits_u64
        .iter()
        .enumerate()
        .filter(|(i, _)| unsigned[*i] && seen_big[*i])
        .map(|(_, p)| p)
        .collect();
    Ok(Schema::new_with_metadata(
        retype(schema.fields(), &mut Vec::new(), &chosen),
        schema.metadata().clone(),
    ))
}

/// Paths (keys through nested objects) of the `Float64` columns of `fields`.
fn collect_float_paths(fields: &Fields, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for f in fields {
        at.push(f.name().clone());
        match f.data_type() {
            DataType::Float64 => out.push(at.clone()),
            DataType::Struct(children) => collect_float_paths(children, at, out),
            _ => {}
        }
        at.pop();
    }
}

/// `fields` with the columns at `paths` made `UInt64`.
fn retype(fields: &Fields, at: &mut Vec<String>, paths: &[&Vec<String>]) -> Vec<Field> {
    fields
        .iter()
        .map(|f| {
            at.push(f.name().clone());
            let field = match f.data_type() {
                DataType::Float64 if paths.iter().any(|p| **p == *at) => {
                    f.as_ref().clone().with_data_type(DataType::UInt64)
                }
                DataType::Struct(children) => f
                    .as_ref()
                    .clone()
                    .with_data_type(DataType::Struct(retype(children, at, paths).into())),
                _ => f.as_ref().clone(),
            };
            at.pop();
            field
        })
        .collect()
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

/// The field both inferred fields fit in, if any. Numbers that may not share a type exactly
/// (an `Int64` file and a `UInt64` one) become text.
fn merge_field(a: &Field, b: &Field) -> Option<Field> {
    use DataType::*;
    let data_type = match (a.data_type(), b.data_type()) {
        (x, y) if x == y => x.clone(),
        (Null, t) | (t, Null) => t.clone(),
        (Utf8, _) | (_, Utf8) => Utf8,
        (Int64 | UInt64, Float64) | (Float64, Int64 | UInt64) => Float64,
        (Int64, UInt64) | (UInt64, Int64) => Utf8,
        (Date32, Timestamp(unit, None)) | (Timestamp(unit, None), Date32) => Timestamp(*unit, None),
        (Timestamp(u1, z1), Timestamp(u2, z2)) if z1 == z2 => {
            let finer = if exact::unit_digits(*u1) >= exact::unit_digits(*u2) {
                *u1
            } else {
                *u2
            };
            Timestamp(finer, z1.clone())
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
