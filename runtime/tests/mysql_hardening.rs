//! The MySQL target where distinct rows could be merged or two runs could interleave, against
//! the real MariaDB of `scripts/services.sh`: key columns that compare more loosely than the
//! source's (case, accents, trailing spaces, length), upserts that would delete rows through
//! another UNIQUE index, connections dropped while idle or cut mid-load, and a run that loses
//! its lock to another run.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fastlane_connectors::test_proxy::TcpProxy;
use fastlane_connectors::test_support::MySqlTestDb;
use serde_json::{json, Value};

use common::{assert_fails, assert_ok, text, wasm};

fn source(db: &MySqlTestDb, table: &str, batch_size: usize) -> Value {
    let mut section = db.section(table);
    section["key"] = json!("k");
    section["batch_size"] = json!(batch_size);
    section
}

fn pipeline(source: Value, target: Value, mode: &str) -> Value {
    json!({ "source": { "mysql": source }, "target": { "mysql": target }, "replication_mode": mode })
}

/// `fastlane run` of `config` in a fresh directory, off the async runtime (the proxy lives on
/// it).
async fn run(config: Value) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        common::run_config(dir.path(), &config, &[])
    })
    .await
    .unwrap()
}

/// `fastlane run` of `config`, started and left running.
fn spawn(dir: &std::path::Path, config: &Value) -> std::process::Child {
    std::fs::write(dir.join("pipeline.json"), config.to_string()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "pipeline.json"])
        .current_dir(dir)
        .env("FASTLANE_CACHE_DIR", common::cache_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn wait(child: std::process::Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

async fn collation(db: &MySqlTestDb, table: &str, column: &str) -> String {
    use mysql_async::prelude::Queryable;
    let mut conn = db.conn().await;
    conn.exec_first(
        "SELECT COLLATION_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
        (&db.name, table, column),
    )
    .await
    .unwrap()
    .unwrap_or_default()
}

#[tokio::test]
async fn a_key_column_that_compares_more_loosely_is_refused_before_any_row_moves() {
    let db = MySqlTestDb::new("keys_ci").await;
    db.exec(
        "CREATE TABLE src (k VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, v INT)",
    )
    .await;
    db.exec(
        "INSERT INTO src VALUES ('a',1),('A',2),('b',3),('B',4),('c',5),('C',6),('é',7),('É',8),('e',9),('E',10)",
    )
    .await;
    db.exec(
        "CREATE TABLE dst (k VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)",
    )
    .await;
    for mode in ["INCREMENTAL", "FULL_TABLE"] {
        let out = run(pipeline(source(&db, "src", 3), db.section("dst"), mode)).await;
        assert_fails(
            &out,
            1,
            &[
                "key column `k`",
                "utf8mb4_general_ci",
                "utf8mb4_bin",
                "Nothing was loaded",
                "ALTER TABLE",
            ],
        );
        assert_eq!(db.scalar("SELECT COUNT(*) FROM dst").await, 0, "{mode}");
        assert_eq!(
            db.tables().await,
            ["dst", "src"],
            "{mode}: nothing left behind"
        );
    }

    // A table the run creates compares like the source: every row lands, and a rerun adds none.
    let config = pipeline(source(&db, "src", 3), db.section("created"), "INCREMENTAL");
    assert_ok(&run(config.clone()).await);
    assert_eq!(collation(&db, "created", "k").await, "utf8mb4_bin");
    assert!(db.same_rows("src", "created").await);
    assert_ok(&run(config).await);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM created").await, 10);
    db.drop().await;
}

#[tokio::test]
async fn trailing_spaces_short_columns_and_other_sources_get_the_same_care() {
    let db = MySqlTestDb::new("keys_pad").await;
    db.exec(
        "CREATE TABLE src (k VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PRIMARY KEY, v INT)",
    )
    .await;
    db.exec("INSERT INTO src VALUES ('x',1),('x ',2),('y',3)")
        .await;
    db.exec("CREATE TABLE padded (k VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, v INT)")
        .await;
    db.exec("CREATE TABLE short (k VARCHAR(4) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PRIMARY KEY, v INT)")
        .await;
    let out = run(pipeline(
        source(&db, "src", 10),
        db.section("padded"),
        "INCREMENTAL",
    ))
    .await;
    assert_fails(&out, 1, &["key column `k`", "PAD SPACE", "'a '"]);
    let out = run(pipeline(
        source(&db, "src", 10),
        db.section("short"),
        "INCREMENTAL",
    ))
    .await;
    assert_fails(&out, 1, &["key column `k`", "16 characters"]);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM padded").await, 0);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM short").await, 0);
    let out = run(pipeline(
        source(&db, "src", 10),
        db.section("copy"),
        "INCREMENTAL",
    ))
    .await;
    assert_ok(&out);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM copy").await, 3);
    assert!(db.same_rows("src", "copy").await);

    // Keys from a file compare byte by byte: the table created for them does too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keys.csv"), "k,v\na,1\nA,2\n\"a \",3\n").unwrap();
    let mut target = db.section("from_file");
    target["key"] = json!("k");
    let config =
        json!({ "source": { "file": { "path": "keys.csv" } }, "target": { "mysql": target } });
    let out = tokio::task::spawn_blocking({
        let path = dir.path().to_path_buf();
        move || common::run_config(&path, &config, &[])
    })
    .await
    .unwrap();
    assert_ok(&out);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM from_file").await,
        3,
        "{}",
        text(&out)
    );
    assert!(collation(&db, "from_file", "k").await.contains("bin"));
    db.drop().await;
}

#[tokio::test]
async fn an_upsert_that_would_delete_rows_through_another_unique_index_fails() {
    let db = MySqlTestDb::new("keys_unique").await;
    db.exec("CREATE TABLE src (k BIGINT PRIMARY KEY, email VARCHAR(64))")
        .await;
    db.exec("INSERT INTO src VALUES (1,'same@x'),(2,'same@x'),(3,'other@x')")
        .await;
    for batch_size in [10, 1] {
        let table = format!("dst_{batch_size}");
        db.exec(&format!(
            "CREATE TABLE {table} (k BIGINT PRIMARY KEY, email VARCHAR(64) UNIQUE)"
        ))
        .await;
        let out = run(pipeline(
            source(&db, "src", batch_size),
            db.section(&table),
            "INCREMENTAL",
        ))
        .await;
        assert_fails(&out, 1, &["rolled back"]);
        // What is there is whole batches, in key order: a rerun can resume from it.
        let count = db.scalar(&format!("SELECT COUNT(*) FROM {table}")).await;
        let max = db
            .scalar(&format!("SELECT COALESCE(MAX(k), 0) FROM {table}"))
            .await;
        assert_eq!(count, max, "batch {batch_size}: rows 1..={max} are there");
        assert!(
            count < 2,
            "batch {batch_size}: the clashing row was not stored"
        );
    }
    db.drop().await;
}

async fn rows_table(db: &MySqlTestDb, table: &str, rows: usize) {
    db.exec(&format!(
        "CREATE TABLE {table} (k BIGINT PRIMARY KEY, v VARCHAR(32))"
    ))
    .await;
    db.exec(&format!(
        "INSERT INTO {table} SELECT seq, CONCAT('{table}-', seq) FROM seq_1_to_{rows}"
    ))
    .await;
}

fn slow(millis: u64) -> Value {
    json!({ "wasm": wasm("hostile"), "concurrency": 1, "config": { "mode": "slow", "millis": millis } })
}

fn through(db: &MySqlTestDb, table: &str, port: u16, keepalive_s: u64) -> Value {
    let mut target = db.section(table);
    target["port"] = json!(port);
    target["keepalive_s"] = json!(keepalive_s);
    target["concurrency"] = json!(1);
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_a_network_drops_while_idle_are_kept_alive_or_replaced() {
    let db = MySqlTestDb::new("idle").await;
    rows_table(&db, "src", 2000).await;
    let upstream = format!("{}:{}", db.host, db.port);
    for mode in ["FULL_TABLE", "INCREMENTAL"] {
        let proxy = TcpProxy::start(upstream.clone(), Some(Duration::from_millis(2000))).await;
        let table = format!("dst_{}", mode.to_lowercase());
        let mut config = pipeline(
            source(&db, "src", 500),
            through(&db, &table, proxy.port, 1),
            mode,
        );
        // Each writer waits 2.5 s between batches: longer than the network keeps it.
        config["transform"] = slow(2500);
        let out = run(config).await;
        assert_ok(&out);
        assert!(db.same_rows("src", &table).await, "{mode}\n{}", text(&out));
        assert!(
            proxy.idle_dropped() > 0,
            "{mode}: the proxy never dropped an idle connection: the test tests nothing"
        );
    }
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_load_goes_on_after_its_connections_are_cut() {
    let db = MySqlTestDb::new("cut").await;
    rows_table(&db, "src", 5000).await;
    let proxy = TcpProxy::start(format!("{}:{}", db.host, db.port), None).await;
    let mut config = pipeline(
        source(&db, "src", 500),
        through(&db, "dst", proxy.port, 1),
        "INCREMENTAL",
    );
    config["transform"] = slow(300);
    let dir = tempfile::tempdir().unwrap();
    let child = spawn(dir.path(), &config);
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        proxy.cut_all();
    }
    let out = wait(child).await;
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lost"),
        "the cuts went unnoticed: {}",
        text(&out)
    );
    assert!(db.same_rows("src", "dst").await);
    db.drop().await;
}

/// The id of the connection holding the run lock of `table`, once a run holds it.
/// The connection holding a run's lock on `table`, once the run has created its staging table and
/// loaded rows into it: its DDL is done, so the lock connection is idle between keepalive pings
/// (killing it during the `CREATE TABLE` would fail that statement, which is not what these
/// tests are about).
async fn lock_holder(db: &MySqlTestDb, table: &str) -> u64 {
    let name = format!("fastlane:{}.{table}", db.name);
    let started = Instant::now();
    loop {
        let id = db
            .scalar(&format!("SELECT COALESCE(IS_USED_LOCK('{name}'), 0)"))
            .await;
        let stage = db
            .tables()
            .await
            .into_iter()
            .find(|t| t.starts_with(&format!("{table}__fastlane_stage_")));
        let loaded = match &stage {
            Some(stage) => {
                db.scalar(&format!("SELECT COUNT(*) FROM `{}`.`{stage}`", db.name))
                    .await
                    > 0
            }
            None => false,
        };
        if id > 0 && loaded {
            return id as u64;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no run took the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_loses_its_lock_to_another_run_never_commits() {
    let db = MySqlTestDb::new("lost_lock").await;
    rows_table(&db, "big", 3000).await;
    rows_table(&db, "small", 3).await;
    let mut first = pipeline(source(&db, "big", 500), db.section("dst"), "FULL_TABLE");
    first["target"]["mysql"]["keepalive_s"] = json!(60);
    first["transform"] = slow(1500);
    let dir = tempfile::tempdir().unwrap();
    let child = spawn(dir.path(), &first);
    let holder = lock_holder(&db, "dst").await;
    // The connection holding the first run's lock dies (as an idle timeout would end it)...
    db.exec(&format!("KILL CONNECTION {holder}")).await;
    // ...and a second run takes the table meanwhile: it runs to the end.
    let second = run(pipeline(
        source(&db, "small", 500),
        db.section("dst"),
        "FULL_TABLE",
    ))
    .await;
    assert_ok(&second);
    let out = wait(child).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the first run must fail\n{}",
        text(&out)
    );
    assert!(
        db.same_rows("small", "dst").await,
        "the second run's table was replaced or mixed"
    );
    assert_eq!(
        db.tables().await,
        ["big", "dst", "small"],
        "nothing left behind"
    );
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lock_connection_is_replaced_when_no_other_run_took_the_lock() {
    let db = MySqlTestDb::new("relock").await;
    rows_table(&db, "big", 2000).await;
    let mut config = pipeline(source(&db, "big", 500), db.section("dst"), "FULL_TABLE");
    config["target"]["mysql"]["keepalive_s"] = json!(1);
    config["transform"] = slow(1000);
    let dir = tempfile::tempdir().unwrap();
    let child = spawn(dir.path(), &config);
    let holder = lock_holder(&db, "dst").await;
    db.exec(&format!("KILL CONNECTION {holder}")).await;
    let out = wait(child).await;
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holding the run's lock on"),
        "{}",
        text(&out)
    );
    assert!(db.same_rows("big", "dst").await);
    db.drop().await;
}
