//! What the server says about a table: its columns, their declared types and its primary key.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::types::ColumnType;
use super::Endpoint;
use crate::Result;

/// One column of a table, as declared.
#[derive(Clone, Debug)]
pub(crate) struct ColumnInfo {
    pub name: String,
    pub column_type: ColumnType,
    pub nullable: bool,
    /// Part of the primary key.
    pub primary: bool,
    /// Character set and collation of a text column (`None` for other columns).
    pub text: Option<TextCompare>,
}

/// How a text column stores and compares its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TextCompare {
    pub charset: String,
    pub collation: String,
}

/// The columns of `db.table` in declaration order, or `None` when there is no such table.
///
/// MariaDB declares JSON columns as `longtext` with a `json_valid` check; those are reported
/// with the type `json`.
pub(crate) async fn table_columns(
    conn: &mut Conn,
    endpoint: &Endpoint,
    table: &str,
) -> Result<Option<Vec<ColumnInfo>>> {
    #[allow(clippy::type_complexity)] // one row of the catalog query, read in one place
    let rows: Vec<(
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    )> = conn
        .exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, CHARACTER_SET_NAME, \
             COLLATION_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (&endpoint.db, table),
        )
        .await
        .map_err(|e| endpoint.error(&format!("reading the columns of `{table}`"), e))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let json_columns = json_checked_columns(conn, endpoint, table).await;
    let mut columns = Vec::with_capacity(rows.len());
    for (name, column_type, nullable, key, charset, collation) in rows {
        let mut parsed = ColumnType::parse(&column_type).map_err(|e| {
            crate::ConnectorError::Other(format!(
                "{}: column `{name}` of `{table}`: {e}",
                endpoint.section
            ))
        })?;
        if parsed.name == "longtext" && json_columns.contains(&name) {
            parsed = ColumnType {
                name: "json".into(),
                args: Vec::new(),
                unsigned: false,
                zerofill: false,
            };
        }
        let text = match (charset, collation) {
            (Some(charset), Some(collation)) => Some(TextCompare { charset, collation }),
            _ => None,
        };
        columns.push(ColumnInfo {
            name,
            column_type: parsed,
            nullable: nullable == "YES",
            primary: key == "PRI",
            text,
        });
    }
    Ok(Some(columns))
}

/// Columns of `table` guarded by MariaDB's `json_valid(col)` check. Servers without
/// `CHECK_CONSTRAINTS.TABLE_NAME` (MySQL, which reports `json` itself) give an empty list.
async fn json_checked_columns(conn: &mut Conn, endpoint: &Endpoint, table: &str) -> Vec<String> {
    let clauses: Vec<String> = conn
        .exec(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (&endpoint.db, table),
        )
        .await
        .unwrap_or_default();
    clauses
        .iter()
        .filter_map(|clause| {
            let inner = clause
                .trim()
                .strip_prefix("json_valid(")?
                .strip_suffix(')')?;
            let name = inner.trim().strip_prefix('`')?.strip_suffix('`')?;
            Some(name.replace("``", "`"))
        })
        .collect()
}
