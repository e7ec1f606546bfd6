//! What to read: the table's columns as an Arrow schema, the key, and the SQL of a page.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use mysql_async::{Conn, Value};

use super::config::{Config, SECTION};
use crate::mysql::types::{field_for_column, quote_ident};
use crate::mysql::{catalog, Endpoint};
use crate::{ConnectorError, Offset, Result, SourceContext};

/// The table, the columns and the key of a read, checked against the server's catalog.
#[derive(Debug)]
pub(super) struct TablePlan {
    /// `db.table`, for messages.
    pub table_name: String,
    /// Quoted `db`.`table`.
    from: String,
    /// Quoted column list of the SELECT, in schema order.
    select_list: String,
    /// Quoted key column.
    pub key_sql: String,
    /// Position of the key in the schema.
    pub key_index: usize,
    /// Arrow type of the key.
    pub key_type: DataType,
    /// The `where` condition, parenthesised.
    filter: Option<String>,
    pub schema: SchemaRef,
    pub batch_size: usize,
}

impl TablePlan {
    /// Read the table's columns and check `table`, `key` and `columns` against them.
    pub async fn new(conn: &mut Conn, endpoint: &Endpoint, config: &Config) -> Result<Self> {
        let table_name = format!("{}.{}", endpoint.db, config.table);
        let declared = catalog::table_columns(conn, endpoint, &config.table)
            .await?
            .ok_or_else(|| {
                ConnectorError::config(
                    format!("{SECTION}.table"),
                    format!(
                        "table `{table_name}` does not exist at {}",
                        endpoint.describe()
                    ),
                )
            })?;
        let find = |name: &str| declared.iter().find(|c| c.name == name);
        if find(&config.key).is_none() {
            return Err(ConnectorError::config(
                format!("{SECTION}.key"),
                format!("table `{table_name}` has no column `{}`", config.key),
            ));
        }
        let mut chosen = Vec::new();
        match &config.columns {
            None => chosen.extend(declared.iter()),
            Some(names) => {
                if !names.contains(&config.key) {
                    chosen.extend(find(&config.key));
                }
                for name in names {
                    let column = find(name).ok_or_else(|| {
                        ConnectorError::config(
                            format!("{SECTION}.columns"),
                            format!("table `{table_name}` has no column `{name}`"),
                        )
                    })?;
                    if !chosen.iter().any(|c| c.name == column.name) {
                        chosen.push(column);
                    }
                }
            }
        }
        let mut fields = Vec::with_capacity(chosen.len());
        for column in &chosen {
            let field = field_for_column(
                &column.name,
                &column.column_type,
                column.nullable,
                column.text.as_ref(),
            )
            .map(|field| {
                if column.name == config.key {
                    let mut metadata = field.metadata().clone();
                    metadata.insert(crate::KEY_METADATA.to_string(), "true".to_string());
                    field.with_metadata(metadata)
                } else {
                    field
                }
            })
            .map_err(|e| {
                ConnectorError::Other(format!(
                    "{SECTION}: column `{}` of `{table_name}`: {e}",
                    column.name
                ))
            })?;
            fields.push(field);
        }
        let key_index = chosen
            .iter()
            .position(|c| c.name == config.key)
            .unwrap_or_default();
        let key_type = fields[key_index].data_type().clone();
        if matches!(key_type, DataType::Float32 | DataType::Float64) {
            return Err(ConnectorError::config(
                format!("{SECTION}.key"),
                format!(
                    "column `{}` is a floating-point column; the key must be an exact type (integer, string, date …)",
                    config.key
                ),
            ));
        }
        let select_list = chosen
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            table_name,
            from: format!(
                "{}.{}",
                quote_ident(&endpoint.db),
                quote_ident(&config.table)
            ),
            select_list,
            key_sql: quote_ident(&config.key),
            key_index,
            key_type,
            filter: config.filter.as_ref().map(|f| format!("({f})")),
            schema: Arc::new(Schema::new(fields)),
            batch_size: config.batch_size,
        })
    }

    /// The key to start after: the target's stored offset in INCREMENTAL runs, else the
    /// configured `offset`.
    pub fn start_after(&self, config: &Config, context: &SourceContext) -> Result<Option<Value>> {
        let integer_key = self.key_type.is_integer();
        let mismatch = |what: String, path: &str| {
            ConnectorError::config(
                path,
                format!(
                    "cannot start after {what}: the key `{}` of `{}` is {}",
                    self.key_sql, self.table_name, self.key_type
                ),
            )
        };
        if let Some(offset) = &context.resume_after {
            return Ok(Some(match offset {
                Offset::Int(v) if integer_key => Value::Int(*v),
                Offset::UInt(v) if integer_key => Value::UInt(*v),
                Offset::Text(v) if !integer_key => Value::Bytes(v.clone().into_bytes()),
                other => {
                    return Err(mismatch(
                        format!("the target's offset {other}"),
                        "replication_mode",
                    ))
                }
            }));
        }
        let path = format!("{SECTION}.offset");
        Ok(match &config.offset {
            None => None,
            Some(serde_json::Value::Number(n)) if integer_key => Some(
                n.as_i64()
                    .map(Value::Int)
                    .or_else(|| n.as_u64().map(Value::UInt))
                    .ok_or_else(|| ConnectorError::config(&path, "must be an integer"))?,
            ),
            Some(serde_json::Value::String(s)) if !integer_key => {
                Some(Value::Bytes(s.clone().into_bytes()))
            }
            Some(other) => return Err(mismatch(format!("the offset {other}"), &path)),
        })
    }

    /// `WHERE …` of a key range (`key > ?` and `key <= ?` when bounded) and the filter.
    pub fn conditions(&self, lower: bool, upper: bool) -> String {
        let mut parts = Vec::new();
        if lower {
            parts.push(format!("{} > ?", self.key_sql));
        }
        if upper {
            parts.push(format!("{} <= ?", self.key_sql));
        }
        parts.extend(self.filter.iter().cloned());
        if parts.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", parts.join(" AND "))
        }
    }

    /// One page of a key range.
    pub fn page_sql(&self, lower: bool, upper: bool) -> String {
        format!(
            "SELECT {} FROM {}{} ORDER BY {} LIMIT {}",
            self.select_list,
            self.from,
            self.conditions(lower, upper),
            self.key_sql,
            self.batch_size
        )
    }

    /// `SELECT {what} FROM table WHERE …` over a key range.
    pub fn aggregate_sql(&self, what: &str, lower: bool) -> String {
        format!(
            "SELECT {what} FROM {}{}",
            self.from,
            self.conditions(lower, false)
        )
    }

    /// The key at position `offset` (0-based) of a key range, for splitting it.
    pub fn key_at_sql(&self, lower: bool) -> String {
        format!(
            "SELECT {} FROM {}{} ORDER BY {} LIMIT 1 OFFSET ?",
            self.key_sql,
            self.from,
            self.conditions(lower, false),
            self.key_sql
        )
    }

    /// `FLUSH TABLES … WITH READ LOCK` for this table.
    pub fn lock_sql(&self) -> String {
        format!("FLUSH TABLES {} WITH READ LOCK", self.from)
    }
}
