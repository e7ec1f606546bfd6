//! The table a run loads into, and its life: the run's advisory lock, the staging table of a
//! FULL_TABLE run, creating a missing table from the batches' schema, and the atomic swap.

use arrow::datatypes::Schema;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::config::SECTION;
use crate::mysql::catalog::{self, ColumnInfo};
use crate::mysql::types::{declared_type, quote_ident};
use crate::mysql::Endpoint;
use crate::{ConnectorError, Result};

/// MySQL's longest identifier, in characters.
const MAX_IDENT: usize = 64;

/// `{table}{suffix}`, shortened (with a hash of the full name, so different long names stay
/// different) when it would pass the identifier limit.
pub(super) fn derived_name(table: &str, suffix: &str) -> String {
    let full = format!("{table}{suffix}");
    if full.chars().count() <= MAX_IDENT {
        return full;
    }
    // FNV-1a: a stable 8-hex-digit tag of the full table name.
    let hash = table.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    let tag = format!("_{hash:08x}{suffix}");
    let keep = MAX_IDENT - tag.chars().count();
    let prefix: String = table.chars().take(keep).collect();
    format!("{prefix}{tag}")
}

/// The collation a text key from a non-MySQL source is created with: utf8mb4, compared byte by
/// byte, trailing spaces significant (`NO PAD`) — MySQL 8's `utf8mb4_0900_bin` or MariaDB's
/// `utf8mb4_nopad_bin`, else `utf8mb4_bin`.
pub(super) async fn exact_collation(conn: &mut Conn, endpoint: &Endpoint) -> Result<String> {
    let found: Vec<String> = conn
        .query(
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
             WHERE COLLATION_NAME IN ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin')",
        )
        .await
        .map_err(|e| endpoint.error("reading the server's collations", e))?;
    Ok(["utf8mb4_0900_bin", "utf8mb4_nopad_bin"]
        .into_iter()
        .find(|c| found.iter().any(|f| f == c))
        .unwrap_or("utf8mb4_bin")
        .to_string())
}

/// The staging table of the run tagged `tag` (8 hex digits).
pub(super) fn stage_name(table: &str, tag: &str) -> String {
    derived_name(table, &format!("{STAGE_SUFFIX}_{tag}"))
}

/// The tables a run of `table` that did not finish may have left: staging tables of any run
/// (and of earlier versions, which had one name), and the table a swap moves aside. Only
/// meaningful while holding the run's lock.
pub(super) async fn leftovers(
    conn: &mut Conn,
    endpoint: &Endpoint,
    table: &str,
) -> Result<Vec<String>> {
    let any_run = stage_name(table, "00000000");
    let prefix = &any_run[..any_run.len() - 8];
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    };
    let names: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             AND (TABLE_NAME LIKE ? OR TABLE_NAME = ? OR TABLE_NAME = ?)",
            (
                &endpoint.db,
                format!("{}%", escape(prefix)),
                derived_name(table, STAGE_SUFFIX),
                derived_name(table, OLD_SUFFIX),
            ),
        )
        .await
        .map_err(|e| endpoint.error("looking for an earlier run's staging tables", e))?;
    Ok(names)
}

/// Whether `table` has a UNIQUE index besides its primary key.
pub(super) async fn has_secondary_unique(
    conn: &mut Conn,
    endpoint: &Endpoint,
    table: &str,
) -> Result<bool> {
    let count: Option<i64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
             AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'",
            (&endpoint.db, table),
        )
        .await
        .map_err(|e| endpoint.error(&format!("reading the indexes of `{table}`"), e))?;
    Ok(count.unwrap_or(0) > 0)
}

/// Suffix of a run's staging table (before the run's tag).
pub(super) const STAGE_SUFFIX: &str = "__fastlane_stage";
/// Suffix of the table a FULL_TABLE swap moves aside.
pub(super) const OLD_SUFFIX: &str = "__fastlane_old";

/// The advisory lock name that keeps two runs from loading the same table at once.
pub(super) fn lock_name(db: &str, table: &str) -> String {
    let name = format!("fastlane:{db}.{table}");
    name.chars().take(MAX_IDENT).collect()
}

/// Take the run's lock on `db.table` (held as long as `conn` lives).
pub(super) async fn lock(conn: &mut Conn, endpoint: &Endpoint, table: &str) -> Result<()> {
    let name = lock_name(&endpoint.db, table);
    let got: Option<Option<i64>> = conn
        .exec_first("SELECT GET_LOCK(?, 0)", (&name,))
        .await
        .map_err(|e| endpoint.error("taking the run's lock", e))?;
    match got.flatten() {
        Some(1) => Ok(()),
        _ => Err(ConnectorError::Other(format!(
            "{SECTION}: another run is loading `{}.{table}` (lock `{name}` is held); try again when it ends",
            endpoint.db
        ))),
    }
}

/// `db`.`name`, quoted.
pub(super) fn qualified(endpoint: &Endpoint, name: &str) -> String {
    format!("{}.{}", quote_ident(&endpoint.db), quote_ident(name))
}

/// The columns of `name`, or `None` when it does not exist.
pub(super) async fn columns(
    conn: &mut Conn,
    endpoint: &Endpoint,
    name: &str,
) -> Result<Option<Vec<ColumnInfo>>> {
    catalog::table_columns(conn, endpoint, name).await
}

/// `CREATE TABLE` for `schema`, with `key` as primary key; text columns compare as the source's
/// do, a text key of another source with `exact_collation`.
pub(super) fn create_sql(
    qualified_name: &str,
    schema: &Schema,
    key: Option<&str>,
    table_name: &str,
    exact_collation: &str,
) -> Result<String> {
    let mut lines = Vec::with_capacity(schema.fields().len() + 1);
    for field in schema.fields() {
        let is_key = key == Some(field.name().as_str());
        let declared = declared_type(field, is_key, exact_collation).map_err(|e| {
            ConnectorError::Other(format!(
                "{SECTION}: cannot create `{table_name}`: column `{}`: {e}",
                field.name()
            ))
        })?;
        let null = if field.is_nullable() && !is_key {
            "NULL"
        } else {
            "NOT NULL"
        };
        lines.push(format!("{} {declared} {null}", quote_ident(field.name())));
    }
    if let Some(key) = key {
        if schema.field_with_name(key).is_err() {
            return Err(ConnectorError::config(
                format!("{SECTION}.key"),
                format!("the batches have no column `{key}` to be the key of `{table_name}`"),
            ));
        }
        lines.push(format!("PRIMARY KEY ({})", quote_ident(key)));
    }
    Ok(format!(
        "CREATE TABLE {qualified_name} (\n  {}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        lines.join(",\n  ")
    ))
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};

    use super::*;

    #[test]
    fn every_runs_staging_table_shares_one_prefix() {
        for table in ["orders", &"x".repeat(60)] {
            let a = stage_name(table, "0123abcd");
            let b = stage_name(table, "ffff0000");
            assert_eq!(a.chars().count().min(64), a.chars().count());
            assert_eq!(a[..a.len() - 8], b[..b.len() - 8], "{a} / {b}");
            assert!(a.ends_with("0123abcd"));
        }
    }

    #[test]
    fn derived_names_fit_the_identifier_limit() {
        assert_eq!(
            derived_name("orders", "__fastlane_stage"),
            "orders__fastlane_stage"
        );
        let long = "x".repeat(60);
        let a = derived_name(&long, "__fastlane_stage");
        let b = derived_name(&format!("{long}y"), "__fastlane_stage");
        assert_eq!(a.chars().count(), 64);
        assert!(a.ends_with("__fastlane_stage"));
        assert_ne!(a, b);
    }

    #[test]
    fn created_tables_have_the_key_and_nullability() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]);
        let sql = create_sql("`d`.`t`", &schema, Some("id"), "d.t", "utf8mb4_bin").unwrap();
        assert_eq!(
            sql,
            "CREATE TABLE `d`.`t` (\n  `id` bigint NOT NULL,\n  `name` longtext NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
        assert!(create_sql("`d`.`t`", &schema, Some("nope"), "d.t", "utf8mb4_bin").is_err());
        let text_key = Schema::new(vec![Field::new("code", DataType::Utf8, false)]);
        let sql = create_sql(
            "`d`.`t`",
            &text_key,
            Some("code"),
            "d.t",
            "utf8mb4_nopad_bin",
        )
        .unwrap();
        assert!(
            sql.contains(
                "`code` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL"
            ),
            "{sql}"
        );
    }
}
