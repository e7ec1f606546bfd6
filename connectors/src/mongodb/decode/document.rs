//! A document's fields (the top level or a nested document) as columns.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{NullBufferBuilder, StructArray};
use arrow::datatypes::Fields;
use mongodb::bson::RawDocument;

use super::column::Column;
use super::{At, Policy};
use crate::mongodb::schema::FieldType;
use crate::{ConnectorError, Result};

/// The fields of a document (the top level or a nested one).
pub(super) struct StructColumns {
    pub(super) fields: Fields,
    pub(super) names: Vec<String>,
    pub(super) index: HashMap<String, usize>,
    pub(super) children: Vec<Column>,
    /// Which children got a value from the current document.
    pub(super) filled: Vec<bool>,
    pub(super) nulls: NullBufferBuilder,
    pub(super) len: usize,
    /// The nested document's path (`None` at the top level), for fields not in the schema.
    pub(super) parent: Option<String>,
    /// Fields met that the schema does not have, with their counts (`Policy::Null`).
    pub(super) unknown: BTreeMap<String, u64>,
}

impl StructColumns {
    /// `parent`: the path of the nested document (`None` at the top level).
    pub(super) fn new(
        parent: Option<&str>,
        fields: &[(String, FieldType)],
        capacity: usize,
    ) -> Result<Self> {
        let mut children = Vec::with_capacity(fields.len());
        for (name, ty) in fields {
            let path = match parent {
                Some(p) => format!("{p}.{name}"),
                None => name.clone(),
            };
            children.push(Column::new(path, ty, capacity)?);
        }
        let arrow_fields: Fields = fields
            .iter()
            .map(|(name, ty)| Arc::new(ty.field(name, true)))
            .collect::<Vec<_>>()
            .into();
        Ok(Self {
            fields: arrow_fields,
            names: fields.iter().map(|(n, _)| n.clone()).collect(),
            index: crate::mongodb::schema::name_index(fields),
            filled: vec![false; fields.len()],
            children,
            nulls: NullBufferBuilder::new(capacity),
            len: 0,
            parent: parent.map(str::to_string),
            unknown: Default::default(),
        })
    }

    /// A field of the current document that the schema lacks: an error, or counted.
    fn unknown_field(&mut self, name: &str, at: &At<'_>) -> Result<()> {
        let path = match &self.parent {
            Some(p) => format!("{p}.{name}"),
            None => name.to_string(),
        };
        match at.policy {
            Policy::Null => {
                *self.unknown.entry(path).or_default() += 1;
                Ok(())
            }
            Policy::Fail => Err(ConnectorError::Other(format!(
                "{}: field `{path}` is not in the schema inferred from the first documents \
                 (raise `sample_size`, declare the columns in `schema`, or set on_mismatch to \
                 \"null\" to leave such fields out and count them)",
                at.document()
            ))),
        }
    }

    /// Fields left out because the schema lacks them, as `(path (not in the schema), count)`.
    pub(super) fn unknown_counts(&self, out: &mut Vec<(String, u64)>) {
        for (path, count) in &self.unknown {
            out.push((format!("{path} (not in the schema)"), *count));
        }
    }

    pub(super) fn append_null(&mut self) {
        for child in &mut self.children {
            child.append_null();
        }
        self.nulls.append_null();
        self.len += 1;
    }

    pub(super) fn append_document(&mut self, doc: &RawDocument, at: &At<'_>) -> Result<()> {
        self.filled.iter_mut().for_each(|f| *f = false);
        // Documents usually repeat one field order: try the next column before the map.
        let mut next = 0;
        for element in doc {
            let (name, value) = element.map_err(|e| at.malformed(e))?;
            let i = if self.names.get(next).is_some_and(|n| n == name) {
                next
            } else {
                match self.index.get(name) {
                    Some(&i) => i,
                    // Not in the schema: a declared schema reads only what it names; an
                    // inferred one did not see this field in the sample.
                    None => {
                        if at.inferred {
                            self.unknown_field(name, at)?;
                        }
                        continue;
                    }
                }
            };
            next = i + 1;
            // A repeated field name: the first value wins.
            if std::mem::replace(&mut self.filled[i], true) {
                continue;
            }
            self.children[i].append(value, at)?;
        }
        for (child, filled) in self.children.iter_mut().zip(&self.filled) {
            if !filled {
                child.append_null();
            }
        }
        self.nulls.append_non_null();
        self.len += 1;
        Ok(())
    }

    /// The nested documents as one array; `context` names the field in errors.
    pub(super) fn finish(&mut self, context: &str) -> Result<StructArray> {
        let mut arrays = Vec::with_capacity(self.children.len());
        for child in &mut self.children {
            arrays.push(child.finish()?);
        }
        let len = std::mem::take(&mut self.len);
        StructArray::try_new_with_length(self.fields.clone(), arrays, self.nulls.finish(), len)
            .map_err(|e| ConnectorError::Arrow {
                context: context.to_string(),
                source: e,
            })
    }
}
