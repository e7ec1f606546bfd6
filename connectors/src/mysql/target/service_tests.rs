//! The `mysql` target against the real MariaDB of `scripts/services.sh`.

use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde_json::json;

use super::{Config, MySqlTarget};
use crate::mysql::test_server::{TestDb, ALL_TYPES_DDL, ALL_TYPES_ROWS};
use crate::test_util::load;
use crate::SourceConnector as _;
use crate::TargetConnector as _;
use crate::{Offset, ReplicationMode, Source, SourceContext, Target, TargetContext};

async fn destination(
    section: serde_json::Value,
    mode: ReplicationMode,
) -> crate::Result<MySqlTarget> {
    let config: Config = serde_json::from_value(section).expect("a valid mysql target section");
    MySqlTarget::open(
        config,
        TargetContext {
            replication_mode: mode,
            run_id: "test".into(),
        },
    )
    .await
}

fn people(ids: std::ops::Range<i64>, tag: &str) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let names: Vec<String> = ids.clone().map(|i| format!("{tag}{i}")).collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn every_type_is_copied_exactly_by_both_load_methods() {
    let db = TestDb::new("tgt_types").await;
    db.exec(ALL_TYPES_DDL).await;
    db.exec(ALL_TYPES_ROWS).await;
    let mut source_section = db.section("all_types");
    source_section["key"] = json!("id");
    let source_config: crate::mysql::source::Config =
        serde_json::from_value(source_section).unwrap();
    let mut source =
        crate::mysql::source::MySqlSource::open(source_config, SourceContext::default())
            .await
            .unwrap();
    let mut batches = Vec::new();
    while let Some(b) = source.extract().await.unwrap() {
        batches.push(b);
    }

    for (table, method) in [("copy_load", "load_data"), ("copy_insert", "insert")] {
        let mut section = db.section(table);
        section["load_method"] = json!(method);
        let dest = destination(section, ReplicationMode::FullTable)
            .await
            .unwrap();
        load(&dest, batches.clone()).await;
        dest.commit().await.unwrap();
        assert_eq!(
            db.column_types(table).await,
            db.column_types("all_types").await,
            "{method}"
        );
        assert_eq!(
            db.scalar(&format!("SELECT COUNT(*) FROM {table}")).await,
            3,
            "{method}"
        );
        assert!(
            db.same_rows("all_types", table).await,
            "{method}: rows differ"
        );
    }
    assert_eq!(db.tables().await, ["all_types", "copy_insert", "copy_load"]);
    db.drop().await;
}

#[tokio::test]
async fn full_table_swaps_atomically_and_a_failed_run_keeps_the_old_table() {
    let db = TestDb::new("tgt_swap").await;
    db.exec("CREATE TABLE people (id BIGINT PRIMARY KEY, name VARCHAR(20))")
        .await;
    db.exec("INSERT INTO people VALUES (1, 'old1'), (2, 'old2')")
        .await;

    let dest = destination(db.section("people"), ReplicationMode::FullTable)
        .await
        .unwrap();
    assert_eq!(dest.workers(), 2);
    assert!(!dest.needs_order());
    load(&dest, vec![people(10..20, "new"), people(20..25, "new")]).await;
    // Loaded but not committed: readers still see the old table.
    assert_eq!(db.scalar("SELECT COUNT(*) FROM people").await, 2);
    dest.abort().await.unwrap();
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM people WHERE name LIKE 'old%'")
            .await,
        2
    );
    assert_eq!(
        db.tables().await,
        ["people"],
        "the staging table is dropped"
    );

    let dest = destination(db.section("people"), ReplicationMode::FullTable)
        .await
        .unwrap();
    load(&dest, vec![people(10..20, "new"), people(20..25, "new")]).await;
    dest.commit().await.unwrap();
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM people WHERE name LIKE 'new%'")
            .await,
        15
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM people").await, 15);
    assert_eq!(db.tables().await, ["people"]);
    // The existing definition is kept (VARCHAR(20), not the LONGTEXT of a created table).
    assert_eq!(db.column_types("people").await[1].1, "varchar(20)");
    db.drop().await;
}

#[tokio::test]
async fn incremental_upserts_on_the_key_and_reports_the_largest() {
    let db = TestDb::new("tgt_incr").await;
    let mut section = db.section("people");
    section["key"] = json!("id");
    section["concurrency"] = json!(4);
    let dest = destination(section.clone(), ReplicationMode::Incremental)
        .await
        .unwrap();
    assert_eq!((dest.workers(), dest.needs_order()), (1, true));
    assert_eq!(dest.get_offset().await.unwrap(), None);
    load(&dest, vec![people(1..11, "a")]).await;
    dest.commit().await.unwrap();
    drop(dest);

    let dest = destination(section, ReplicationMode::Incremental)
        .await
        .unwrap();
    assert_eq!(dest.get_offset().await.unwrap(), Some(Offset::Int(10)));
    // A rerun that loads rows again (a crash after loading) neither duplicates nor loses.
    load(&dest, vec![people(5..16, "b")]).await;
    dest.commit().await.unwrap();
    assert_eq!(db.scalar("SELECT COUNT(*) FROM people").await, 15);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM people WHERE name LIKE 'b%'")
            .await,
        11
    );
    assert_eq!(db.column_types("people").await[0].1, "bigint(20)");
    db.drop().await;
}

#[tokio::test]
async fn rows_the_table_cannot_hold_fail_the_load() {
    let db = TestDb::new("tgt_warn").await;
    db.exec("CREATE TABLE narrow (id BIGINT PRIMARY KEY, name VARCHAR(3))")
        .await;
    for method in ["load_data", "insert"] {
        let mut section = db.section("narrow");
        section["load_method"] = json!(method);
        let dest = destination(section, ReplicationMode::FullTable)
            .await
            .unwrap();
        let mut writer = dest.writer(0).await.unwrap();
        let e = writer
            .load(people(1..3, "toolong"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("target.mysql") && e.contains("name"),
            "{method}: {e}"
        );
        dest.abort().await.unwrap();
    }
    // Duplicate keys within a FULL_TABLE load are an error, not silently skipped rows.
    let dest = destination(db.section("narrow"), ReplicationMode::FullTable)
        .await
        .unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    let mut dup = people(1..3, "x");
    dup = arrow::compute::concat_batches(&dup.schema(), &[dup.clone(), dup]).unwrap();
    let e = writer.load(dup).await.unwrap_err().to_string();
    assert!(e.contains("Duplicate") || e.contains("only 2 of 4"), "{e}");
    dest.abort().await.unwrap();
    assert_eq!(db.scalar("SELECT COUNT(*) FROM narrow").await, 0);
    db.drop().await;
}

#[tokio::test]
async fn one_run_at_a_time_and_keys_are_checked() {
    let db = TestDb::new("tgt_lock").await;
    db.exec("CREATE TABLE pairs (a INT, b INT, PRIMARY KEY (a, b))")
        .await;
    let first = destination(db.section("pairs"), ReplicationMode::FullTable)
        .await
        .unwrap();
    let second = destination(db.section("pairs"), ReplicationMode::FullTable).await;
    let e = second.err().expect("the table is locked").to_string();
    assert!(e.contains("another run is loading"), "{e}");
    first.abort().await.unwrap();
    drop(first);

    let e = destination(db.section("pairs"), ReplicationMode::Incremental)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("target.mysql.key:") && e.contains("need a key"),
        "{e}"
    );
    let mut section = db.section("pairs");
    section["key"] = json!("c");
    let e = destination(section, ReplicationMode::FullTable)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("target.mysql.key:") && e.contains("no column `c`"),
        "{e}"
    );
    let mut section = db.section("missing");
    section["create_table"] = json!(false);
    let e = destination(section, ReplicationMode::FullTable)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("target.mysql.table:"), "{e}");
    db.drop().await;
}

#[tokio::test]
async fn an_incremental_batch_that_cannot_be_encoded_is_not_stored_at_all() {
    let db = TestDb::new("tgt_encode").await;
    let mut section = db.section("measures");
    section["key"] = json!("id");
    let dest = destination(section, ReplicationMode::Incremental)
        .await
        .unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("v", DataType::Float64, true),
    ]));
    // Row 4000 is NaN: several chunks of the batch have streamed to the server by then.
    let values: Vec<f64> = (0..5000)
        .map(|i| if i == 4000 { f64::NAN } else { i as f64 })
        .collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(1..5001)),
            Arc::new(arrow::array::Float64Array::from(values)),
        ],
    )
    .unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    let e = writer.load(batch).await.unwrap_err().to_string();
    assert!(e.contains("column `v`") && e.contains("NaN"), "{e}");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM measures").await, 0);
    db.drop().await;
}
