//! MySQL → Wasm transform → MySQL through the `fastlane` binary, against the real MariaDB of
//! `scripts/services.sh`: exact types, atomic FULL_TABLE, resumable INCREMENTAL, clean failures.

mod common;

use std::time::{Duration, Instant};

use fastlane_connectors::test_support::{MySqlTestDb, ALL_TYPES_DDL, ALL_TYPES_ROWS};
use serde_json::{json, Value};

use common::{assert_fails, assert_ok, summary, text, wasm};

/// A pipeline from `source` to `target` in `db`, keyed on `id`.
fn pipeline(db: &MySqlTestDb, source: &str, target: &str, batch_size: usize) -> Value {
    let mut src = db.section(source);
    src["key"] = json!("id");
    src["batch_size"] = json!(batch_size);
    json!({
        "source": { "mysql": src },
        "transform": { "wasm": wasm("passthrough"), "concurrency": 2 },
        "target": { "mysql": db.section(target) },
    })
}

async fn events_table(db: &MySqlTestDb, table: &str, from: i64, to: i64) {
    db.exec(&format!(
        "CREATE TABLE IF NOT EXISTS `{table}` (id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
         event_type VARCHAR(32) NOT NULL, amount DECIMAL(12,2), created_at DATETIME NOT NULL, \
         payload VARCHAR(200))"
    ))
    .await;
    db.exec(&format!(
        "INSERT INTO `{table}` SELECT seq, seq % 1000, ELT(1 + seq % 3, 'view', 'click', 'buy'), \
         IF(seq % 7 = 0, NULL, (seq % 100000) / 100), \
         '2024-01-01 00:00:00' + INTERVAL seq SECOND, REPEAT('p', seq % 50) \
         FROM seq_{from}_to_{to}"
    ))
    .await;
}

#[tokio::test]
async fn every_type_round_trips_through_passthrough_wasm() {
    let db = MySqlTestDb::new("e2e_types").await;
    db.exec(ALL_TYPES_DDL).await;
    db.exec(ALL_TYPES_ROWS).await;
    let dir = tempfile::tempdir().unwrap();
    // Batches of 2 rows: the NULL row and the edges travel in different batches.
    let out = common::run_config(dir.path(), &pipeline(&db, "all_types", "copy", 2), &[]);
    assert_ok(&out);
    assert_eq!(
        db.column_types("copy").await,
        db.column_types("all_types").await
    );
    assert!(
        db.same_rows("all_types", "copy").await,
        "values differ\n{}",
        text(&out)
    );
    db.drop().await;
}

#[tokio::test]
async fn full_table_runs_are_repeatable_and_a_failed_run_keeps_the_previous_table() {
    let db = MySqlTestDb::new("e2e_full").await;
    events_table(&db, "events", 1, 5000).await;
    let dir = tempfile::tempdir().unwrap();
    let config = pipeline(&db, "events", "copy", 1000);
    for _ in 0..2 {
        assert_ok(&common::run_config(dir.path(), &config, &[]));
        assert!(db.same_rows("events", "copy").await);
    }

    // The source changes, and the next run fails at batch 3: the copy stays as it was.
    db.exec("DELETE FROM events WHERE id > 2500").await;
    let mut failing = config.clone();
    failing["transform"] = json!({
        "wasm": wasm("hostile"), "concurrency": 1,
        "config": { "mode": "fail-after", "batches": 2 }
    });
    let out = common::run_config(dir.path(), &failing, &[]);
    assert_fails(&out, 1, &["failing on purpose at batch 3"]);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM copy").await, 5000);
    assert_eq!(
        db.tables().await,
        ["copy", "events"],
        "no staging table is left behind"
    );
    db.drop().await;
}

#[tokio::test]
async fn incremental_runs_move_only_new_rows_and_survive_sigkill() {
    let db = MySqlTestDb::new("e2e_incr").await;
    events_table(&db, "events", 1, 300_000).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = pipeline(&db, "events", "copy", 1000);
    config["replication_mode"] = json!("INCREMENTAL");
    std::fs::write(dir.path().join("pipeline.json"), config.to_string()).unwrap();

    // Killed mid-run: whatever was loaded stays; nothing is half-loaded.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "pipeline.json"])
        .current_dir(dir.path())
        .env("FASTLANE_CACHE_DIR", common::cache_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut loaded = 0;
    while loaded < 20_000 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended before it could be killed ({status}); run it by hand to see why");
        }
        if db.tables().await.contains(&"copy".to_string()) {
            loaded = db.scalar("SELECT COUNT(*) FROM copy").await;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = db.scalar("SELECT COUNT(*) FROM copy").await;
    assert!(
        at_kill > 0 && at_kill < 300_000,
        "the kill must land mid-run (had {at_kill} rows)"
    );
    // Batches are whole: the rows present are exactly the keys up to the largest.
    assert_eq!(db.scalar("SELECT MAX(id) FROM copy").await, at_kill);

    let out = common::run_config(dir.path(), &config, &["--summary-json", "summary.json"]);
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_extracted"],
        json!(300_000 - at_kill),
        "the rerun resumes after the last loaded key"
    );
    assert!(db.same_rows("events", "copy").await);

    // New rows in the source: only they move.
    events_table(&db, "events", 300_001, 300_500).await;
    let out = common::run_config(dir.path(), &config, &["--summary-json", "summary.json"]);
    assert_ok(&out);
    assert_eq!(summary(dir.path())["rows_loaded"], json!(500));
    assert!(db.same_rows("events", "copy").await);
    db.drop().await;
}

#[tokio::test]
async fn connection_and_table_mistakes_fail_cleanly_and_leave_the_target_alone() {
    let db = MySqlTestDb::new("e2e_errors").await;
    events_table(&db, "events", 1, 100).await;
    let dir = tempfile::tempdir().unwrap();
    let config = pipeline(&db, "events", "copy", 50);
    assert_ok(&common::run_config(dir.path(), &config, &[]));

    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "wrong password",
            json!({ "username": "fastlane_nobody", "password": "wrong" }),
            &[
                "access denied for `fastlane_nobody`",
                "source.mysql.password",
            ],
        ),
        (
            "unreachable host",
            json!({ "port": 1 }),
            &["cannot connect", "127.0.0.1:1"],
        ),
        (
            "missing table",
            json!({ "table": "nope" }),
            &["source.mysql.table", "does not exist"],
        ),
        (
            "missing key",
            json!({ "key": "ident" }),
            &["source.mysql.key", "no column `ident`"],
        ),
    ];
    for (case, change, needles) in cases {
        let mut broken = config.clone();
        for (k, v) in change.as_object().unwrap() {
            broken["source"]["mysql"][k] = v.clone();
        }
        let out = common::run_config(dir.path(), &broken, &[]);
        assert_ne!(out.status.code(), Some(0), "{case}\n{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{case}: no `{needle}` in\n{}",
                text(&out)
            );
        }
        assert!(
            db.same_rows("events", "copy").await,
            "{case}: the target changed"
        );
        assert_eq!(db.tables().await, ["copy", "events"], "{case}");
    }
    db.drop().await;
}

#[tokio::test]
async fn sigterm_during_a_full_table_run_keeps_the_previous_table() {
    let db = MySqlTestDb::new("e2e_term").await;
    events_table(&db, "events", 1, 200_000).await;
    db.exec("CREATE TABLE copy LIKE events").await;
    db.exec("INSERT INTO copy SELECT * FROM events WHERE id <= 10")
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pipeline.json"),
        pipeline(&db, "events", "copy", 1000).to_string(),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "pipeline.json"])
        .current_dir(dir.path())
        .env("FASTLANE_CACHE_DIR", common::cache_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop once the run's staging table is filling.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let stage = db
            .tables()
            .await
            .into_iter()
            .find(|t| t.starts_with("copy__fastlane_stage_"));
        if let Some(stage) = stage {
            if db.scalar(&format!("SELECT COUNT(*) FROM `{stage}`")).await > 5000 {
                break;
            }
        }
    }
    common::terminate(child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert_eq!(db.scalar("SELECT COUNT(*) FROM copy").await, 10);
    assert_eq!(db.tables().await, ["copy", "events"]);
    db.drop().await;
}

/// `fastlane --source=mysql --target=mysql --config=X.json` on a file in the original's layout
/// (its example `examples/original/mysql-to-mysql.json`, pointed at the test server): the
/// target gets every source column plus the original's `_op_type` and `_op_timestamp`, and an
/// INCREMENTAL rerun adds only the new rows.
#[tokio::test]
async fn the_original_mysql_to_mysql_file_runs_with_its_command_line() {
    let db = MySqlTestDb::new("e2e_original").await;
    events_table(&db, "events", 1, 2000).await;
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/original/mysql-to-mysql.json"
    );
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    for (kind, table) in [("source", "events"), ("target", "events_copy")] {
        let section = &mut config[kind]["mysql"];
        let server = db.section(table);
        for key in ["host", "port", "username", "db", "table"] {
            section[key] = server[key].clone();
        }
        section["password"] = json!("");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orig.json"), config.to_string()).unwrap();
    let original = [
        "--source=mysql",
        "--target=mysql",
        "--config=orig.json",
        "--transform=default",
        "--summary-json=summary.json",
    ];
    let out = common::fastlane(dir.path(), &original);
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(2000),
        "{}",
        text(&out)
    );
    let source: Vec<String> = db
        .column_types("events")
        .await
        .into_iter()
        .map(|c| c.0)
        .collect();
    let target: Vec<String> = db
        .column_types("events_copy")
        .await
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(target[..source.len()], source[..]);
    assert_eq!(target[source.len()..], ["_op_type", "_op_timestamp"]);
    assert_eq!(
        db.scalar(
            "SELECT COUNT(*) FROM events e JOIN events_copy c USING (id) \
                   WHERE e.user_id = c.user_id AND e.event_type = c.event_type \
                   AND e.amount <=> c.amount AND e.created_at = c.created_at \
                   AND e.payload <=> c.payload AND c._op_type = 'i'"
        )
        .await,
        2000
    );
    events_table(&db, "events", 2001, 2500).await;
    let out = common::fastlane(dir.path(), &original);
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(500),
        "{}",
        text(&out)
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM events_copy").await, 2500);
    db.drop().await;
}
