//! The real MariaDB the tests use (started by `scripts/services.sh up`), and a fresh database
//! per test so tests run in any order and in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use serde_json::json;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A database of its own on the test server.
pub struct TestDb {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub name: String,
}

fn server() -> Opts {
    let url = std::env::var("FASTLANE_TEST_MYSQL_URL").expect(
        "FASTLANE_TEST_MYSQL_URL is not set: start the test services with \
         `eval \"$(scripts/services.sh up)\"` (scripts/test.sh does)",
    );
    Opts::from_url(&url).expect("FASTLANE_TEST_MYSQL_URL is a mysql:// URL")
}

impl TestDb {
    /// Create `fl_{tag}_{pid}_{n}`.
    pub async fn new(tag: &str) -> Self {
        let opts = server();
        let name = format!(
            "fl_{tag}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let db = Self {
            host: opts.ip_or_hostname().to_string(),
            port: opts.tcp_port(),
            user: opts.user().unwrap_or("root").to_string(),
            name,
        };
        let mut conn = Conn::new(opts).await.expect("the test MariaDB answers");
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", db.name))
            .await
            .unwrap();
        conn.query_drop(format!(
            "CREATE DATABASE `{}` CHARACTER SET utf8mb4",
            db.name
        ))
        .await
        .unwrap();
        db
    }

    /// A connection to this database (session in UTC).
    pub async fn conn(&self) -> Conn {
        let opts = OptsBuilder::from_opts(server())
            .db_name(Some(self.name.clone()))
            .init(vec!["SET time_zone = '+00:00'"]);
        Conn::new(opts).await.expect("the test MariaDB answers")
    }

    /// Run statements.
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.conn().await;
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The connection keys of a `mysql` source or target section.
    pub fn section(&self, table: &str) -> serde_json::Value {
        json!({
            "host": self.host, "port": self.port, "username": self.user,
            "db": self.name, "table": table,
        })
    }

    /// The first column of the first row of `sql`, as an integer (0 when there is no row).
    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = self.conn().await;
        conn.query_first::<Option<i64>, _>(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .flatten()
            .unwrap_or(0)
    }

    /// The tables of this database, sorted.
    pub async fn tables(&self) -> Vec<String> {
        let mut conn = self.conn().await;
        conn.exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1",
            (&self.name,),
        )
        .await
        .unwrap()
    }

    /// (name, declared type, nullable) of each column of `table`, in order.
    pub async fn column_types(&self, table: &str) -> Vec<(String, String, String)> {
        let mut conn = self.conn().await;
        conn.exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (&self.name, table),
        )
        .await
        .unwrap()
    }

    /// Whether tables `a` and `b` hold the same rows, column by column (NULL-safe), and no
    /// others.
    pub async fn same_rows(&self, a: &str, b: &str) -> bool {
        let on: Vec<String> = self
            .column_types(a)
            .await
            .iter()
            .map(|(c, _, _)| format!("a.`{c}` <=> b.`{c}`"))
            .collect();
        let matched = self
            .scalar(&format!(
                "SELECT COUNT(*) FROM `{a}` a JOIN `{b}` b ON {}",
                on.join(" AND ")
            ))
            .await;
        let rows_a = self.scalar(&format!("SELECT COUNT(*) FROM `{a}`")).await;
        let rows_b = self.scalar(&format!("SELECT COUNT(*) FROM `{b}`")).await;
        matched == rows_a && rows_a == rows_b
    }

    /// Drop the database.
    pub async fn drop(self) {
        let mut conn = Conn::new(server()).await.unwrap();
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .await
            .unwrap();
    }
}

/// The table of every supported type: row 1 holds the low edges, row 2 the high edges, row 3
/// NULL in every column but the key.
pub const ALL_TYPES_DDL: &str = "CREATE TABLE all_types (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, u16 SMALLINT UNSIGNED,
  i24 MEDIUMINT, u24 MEDIUMINT UNSIGNED, i32 INT, u32 INT UNSIGNED, i64 BIGINT, u64 BIGINT UNSIGNED,
  d12 DECIMAL(12,2), d38 DECIMAL(38,10), d65 DECIMAL(65,30), f FLOAT, d DOUBLE,
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), yr YEAR,
  c CHAR(10), vc VARCHAR(100), tx TEXT, bn BINARY(4), vb VARBINARY(16), bl BLOB,
  js JSON, en ENUM('small','large'), st SET('a','b','c'), bt BIT(64)
)";

/// Rows of [`ALL_TYPES_DDL`].
pub const ALL_TYPES_ROWS: &str = "INSERT INTO all_types VALUES
 (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -9999999999.99, -0.0000000001, '-99999999999999999999999999999999999.999999999999999999999999999999',
  1.5, -1.7976931348623157e308, '1000-01-01', '1000-01-01 00:00:00.000000',
  '1970-01-01 00:00:01.000000', '-838:59:59.000000', 1901,
  '', 'tab\\there\\nnew line', 'back\\\\slash \\\\N', x'00000000', x'', x'00ff',
  '{\"a\": [1, 2]}', 'small', '', b'0'),
 (18446744073709551615, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615,
  9999999999.99, 9999999999999999999999999999.9999999999,
  '99999999999999999999999999999999999.999999999999999999999999999999',
  0.1, 2.2250738585072014e-308, '9999-12-31', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07.999999', '838:59:59.000000', 2155,
  'abc', '😀 𝄞 ∑', 'quote '' and \"', x'ffffffff', x'000102030405060708090a0b0c0d0e0f',
  x'fffe00', '[]', 'large', 'a,c', b'1111111111111111111111111111111111111111111111111111111111111111'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";
