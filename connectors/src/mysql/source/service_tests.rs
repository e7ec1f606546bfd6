//! The `mysql` source against the real MariaDB of `scripts/services.sh`.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use serde_json::json;

use super::{Config, MySqlSource};
use crate::mysql::test_server::{TestDb, ALL_TYPES_DDL, ALL_TYPES_ROWS};
use crate::SourceConnector as _;
use crate::{ConnectorError, Offset, ReplicationMode, Source, SourceContext};

async fn open(
    config: serde_json::Value,
    mode: ReplicationMode,
    resume_after: Option<Offset>,
) -> crate::Result<MySqlSource> {
    let config: Config = serde_json::from_value(config).expect("a valid mysql source section");
    MySqlSource::open(
        config,
        SourceContext {
            replication_mode: mode,
            resume_after,
        },
    )
    .await
}

async fn read_all(source: &mut MySqlSource) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    while let Some(batch) = source.extract().await.expect("extract") {
        batches.push(batch);
    }
    batches
}

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

#[tokio::test]
async fn every_type_is_read_exactly() {
    let db = TestDb::new("src_types").await;
    db.exec(ALL_TYPES_DDL).await;
    db.exec(ALL_TYPES_ROWS).await;
    let mut section = db.section("all_types");
    section["key"] = json!("id");
    let mut source = open(section, ReplicationMode::FullTable, None)
        .await
        .unwrap();
    let batches = read_all(&mut source).await;
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    let schema = batch.schema();
    let ty = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(ty("id"), DataType::UInt64);
    assert_eq!(ty("u24"), DataType::UInt32);
    assert_eq!(ty("d12"), DataType::Decimal128(12, 2));
    assert_eq!(ty("d65"), DataType::Decimal256(65, 30));
    assert_eq!(ty("f"), DataType::Float32);
    assert_eq!(ty("dtm"), DataType::Timestamp(TimeUnit::Microsecond, None));
    assert_eq!(
        ty("ts"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(ty("tm"), DataType::Duration(TimeUnit::Microsecond));
    assert_eq!(ty("bt"), DataType::UInt64);
    assert_eq!(ty("js"), DataType::Utf8);
    assert_eq!(
        schema
            .field_with_name("js")
            .unwrap()
            .metadata()
            .get("mysql.type")
            .map(String::as_str),
        Some("json")
    );
    assert_eq!(
        schema
            .field_with_name("en")
            .unwrap()
            .metadata()
            .get("mysql.type")
            .map(String::as_str),
        Some("enum('small','large')")
    );

    // Rows come in key order: 1, 2 (the NULL row), u64::MAX.
    let column = |name: &str| -> Vec<String> {
        let array = batch.column_by_name(name).unwrap();
        (0..array.len())
            .map(|i| {
                if array.is_null(i) {
                    "NULL".to_string()
                } else {
                    array_value_to_string(array, i).unwrap()
                }
            })
            .collect()
    };
    assert_eq!(column("id"), ["1", "2", "18446744073709551615"]);
    assert_eq!(column("i8"), ["-128", "NULL", "127"]);
    assert_eq!(column("u8"), ["0", "NULL", "255"]);
    assert_eq!(column("i24"), ["-8388608", "NULL", "8388607"]);
    assert_eq!(column("u32"), ["0", "NULL", "4294967295"]);
    assert_eq!(
        column("i64"),
        ["-9223372036854775808", "NULL", "9223372036854775807"]
    );
    assert_eq!(column("u64"), ["0", "NULL", "18446744073709551615"]);
    assert_eq!(column("d12"), ["-9999999999.99", "NULL", "9999999999.99"]);
    assert_eq!(
        column("d38"),
        [
            "-0.0000000001",
            "NULL",
            "9999999999999999999999999999.9999999999"
        ]
    );
    assert_eq!(
        column("d65"),
        [
            "-99999999999999999999999999999999999.999999999999999999999999999999",
            "NULL",
            "99999999999999999999999999999999999.999999999999999999999999999999"
        ]
    );
    let f = batch
        .column_by_name("f")
        .unwrap()
        .as_primitive::<arrow::datatypes::Float32Type>();
    assert_eq!((f.value(0), f.value(2)), (1.5f32, 0.1f32));
    let d = batch
        .column_by_name("d")
        .unwrap()
        .as_primitive::<arrow::datatypes::Float64Type>();
    assert_eq!(
        (d.value(0), d.value(2)),
        (-1.7976931348623157e308, 2.2250738585072014e-308)
    );
    assert_eq!(column("dt"), ["1000-01-01", "NULL", "9999-12-31"]);
    assert_eq!(
        column("dtm"),
        ["1000-01-01T00:00:00", "NULL", "9999-12-31T23:59:59.999999"]
    );
    assert_eq!(
        column("ts"),
        [
            "1970-01-01T00:00:01Z",
            "NULL",
            "2038-01-19T03:14:07.999999Z"
        ]
    );
    let tm = batch
        .column_by_name("tm")
        .unwrap()
        .as_primitive::<arrow::datatypes::DurationMicrosecondType>();
    let edge = (838 * 3600 + 59 * 60 + 59) * 1_000_000i64;
    assert_eq!((tm.value(0), tm.value(2)), (-edge, edge));
    assert_eq!(column("yr"), ["1901", "NULL", "2155"]);
    assert_eq!(column("c"), ["", "NULL", "abc"]);
    assert_eq!(column("vc"), ["tab\there\nnew line", "NULL", "😀 𝄞 ∑"]);
    assert_eq!(column("tx"), ["back\\slash \\N", "NULL", "quote ' and \""]);
    let bin = |name: &str, row: usize| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_binary::<i32>()
            .value(row)
            .to_vec()
    };
    assert_eq!(bin("bn", 0), [0, 0, 0, 0]);
    assert_eq!(bin("vb", 0), Vec::<u8>::new());
    assert!(
        !batch.column_by_name("vb").unwrap().is_null(0),
        "empty binary is not NULL"
    );
    assert_eq!(bin("vb", 2), (0u8..16).collect::<Vec<_>>());
    assert_eq!(bin("bl", 2), [0xff, 0xfe, 0x00]);
    assert_eq!(column("js"), ["{\"a\": [1, 2]}", "NULL", "[]"]);
    assert_eq!(column("en"), ["small", "NULL", "large"]);
    assert_eq!(column("st"), ["", "NULL", "a,c"]);
    assert_eq!(column("bt"), ["0", "NULL", "18446744073709551615"]);
    // NULL in every column of row 2.
    for (i, array) in batch.columns().iter().enumerate().skip(1) {
        assert!(array.is_null(1), "column {i} of the NULL row");
    }
    db.drop().await;
}

async fn numbers_table(db: &TestDb, rows: i64) {
    db.exec(
        "CREATE TABLE nums (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL, odd BOOL NOT NULL)",
    )
    .await;
    db.exec(&format!(
        "INSERT INTO nums SELECT seq, CONCAT('n', seq), seq % 2 FROM seq_1_to_{rows}"
    ))
    .await;
}

#[tokio::test]
async fn pages_partitions_filters_and_offsets() {
    let db = TestDb::new("src_pages").await;
    numbers_table(&db, 1000).await;
    let mut section = db.section("nums");
    section["key"] = json!("id");
    section["batch_size"] = json!(64);

    // One reader, pages of 64: every row once, in order.
    let mut source = open(section.clone(), ReplicationMode::FullTable, None)
        .await
        .unwrap();
    let batches = read_all(&mut source).await;
    assert_eq!(ids(&batches), (1..=1000).collect::<Vec<_>>());
    assert!(batches.iter().all(|b| b.num_rows() <= 64));

    // Three partitions in FULL_TABLE order: every row exactly once.
    section["concurrency"] = json!(3);
    let mut source = open(section.clone(), ReplicationMode::FullTable, None)
        .await
        .unwrap();
    let mut got = ids(&read_all(&mut source).await);
    got.sort();
    assert_eq!(got, (1..=1000).collect::<Vec<_>>());

    // INCREMENTAL: partitions delivered in key order, after the target's offset.
    let mut source = open(
        section.clone(),
        ReplicationMode::Incremental,
        Some(Offset::Int(900)),
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&read_all(&mut source).await),
        (901..=1000).collect::<Vec<_>>()
    );

    // `where`, `columns` (the key is always read) and `offset`.
    section["where"] = json!("odd = 1 AND name <> 'n7'");
    section["columns"] = json!(["name"]);
    section["offset"] = json!(990);
    let mut source = open(section, ReplicationMode::FullTable, None)
        .await
        .unwrap();
    let batches = read_all(&mut source).await;
    assert_eq!(batches[0].schema().fields().len(), 2);
    let mut got = ids(&batches);
    got.sort();
    assert_eq!(got, vec![991, 993, 995, 997, 999]);
    db.drop().await;
}

#[tokio::test]
async fn string_keys_page_and_split_by_rank() {
    let db = TestDb::new("src_strkey").await;
    db.exec("CREATE TABLE words (w VARCHAR(20) PRIMARY KEY, n INT)")
        .await;
    db.exec("INSERT INTO words SELECT CONCAT('w', LPAD(seq, 4, '0')), seq FROM seq_1_to_500")
        .await;
    let mut section = db.section("words");
    section["key"] = json!("w");
    section["batch_size"] = json!(7);
    section["concurrency"] = json!(4);
    let mut source = open(section.clone(), ReplicationMode::Incremental, None)
        .await
        .unwrap();
    let batches = read_all(&mut source).await;
    let words: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_string::<i32>();
            (0..a.len())
                .map(|i| a.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: Vec<String> = (1..=500).map(|i| format!("w{i:04}")).collect();
    assert_eq!(
        words, expected,
        "INCREMENTAL delivers string keys in order, each once"
    );

    let mut source = open(
        section,
        ReplicationMode::Incremental,
        Some(Offset::Text("w0495".into())),
    )
    .await
    .unwrap();
    assert_eq!(
        read_all(&mut source)
            .await
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        5
    );
    db.drop().await;
}

#[tokio::test]
async fn an_empty_table_gives_one_empty_batch_with_the_columns() {
    let db = TestDb::new("src_empty").await;
    db.exec("CREATE TABLE e (id INT PRIMARY KEY, v DECIMAL(5,1))")
        .await;
    let mut section = db.section("e");
    section["key"] = json!("id");
    let mut source = open(section, ReplicationMode::FullTable, None)
        .await
        .unwrap();
    let batches = read_all(&mut source).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);
    assert_eq!(
        batches[0].schema().field(1).data_type(),
        &DataType::Decimal128(5, 1)
    );
    db.drop().await;
}

fn message(result: crate::Result<MySqlSource>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn mistakes_are_named() {
    let db = TestDb::new("src_errors").await;
    numbers_table(&db, 3).await;
    let mut section = db.section("nums");
    section["key"] = json!("id");

    let mut missing_table = section.clone();
    missing_table["table"] = json!("nope");
    let e = message(open(missing_table, ReplicationMode::FullTable, None).await);
    assert!(
        e.starts_with("source.mysql.table:") && e.contains(".nope` does not exist"),
        "{e}"
    );

    let mut missing_key = section.clone();
    missing_key["key"] = json!("ident");
    let e = message(open(missing_key, ReplicationMode::FullTable, None).await);
    assert!(
        e.starts_with("source.mysql.key:") && e.contains("no column `ident`"),
        "{e}"
    );

    let mut missing_column = section.clone();
    missing_column["columns"] = json!(["name", "colour"]);
    let e = message(open(missing_column, ReplicationMode::FullTable, None).await);
    assert!(
        e.starts_with("source.mysql.columns:") && e.contains("`colour`"),
        "{e}"
    );

    let mut wrong_password = section.clone();
    wrong_password["username"] = json!("nobody_here");
    wrong_password["password"] = json!("wrong");
    let e = message(open(wrong_password, ReplicationMode::FullTable, None).await);
    assert!(
        e.contains("access denied for `nobody_here`") && e.contains("source.mysql.password"),
        "{e}"
    );

    let mut unreachable = section.clone();
    unreachable["port"] = json!(1);
    let e = message(open(unreachable, ReplicationMode::FullTable, None).await);
    assert!(e.contains("cannot connect") && e.contains(":1/"), "{e}");

    // A host that accepts the connection but never answers: the connect timeout ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut unresponsive = section.clone();
    unresponsive["port"] = json!(silent.local_addr().unwrap().port());
    unresponsive["connect_timeout_s"] = json!(1);
    let started = std::time::Instant::now();
    let e = message(open(unresponsive, ReplicationMode::FullTable, None).await);
    assert!(e.contains("no answer within 1 s"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    let mut bad_offset = section.clone();
    bad_offset["offset"] = json!("abc");
    let e = message(open(bad_offset, ReplicationMode::FullTable, None).await);
    assert!(e.starts_with("source.mysql.offset:"), "{e}");

    db.exec("CREATE TABLE nullkey (k INT NULL, UNIQUE KEY (k))")
        .await;
    db.exec("INSERT INTO nullkey VALUES (NULL), (1)").await;
    let mut null_key = db.section("nullkey");
    null_key["key"] = json!("k");
    let mut source = open(null_key, ReplicationMode::FullTable, None)
        .await
        .unwrap();
    let e = source.extract().await.unwrap_err();
    assert!(
        matches!(e, ConnectorError::Other(_)) && e.to_string().contains("holds NULL"),
        "{e}"
    );
    db.drop().await;
}

#[tokio::test]
async fn tls_verifies_the_server_certificate() {
    let Ok(ca) = std::env::var("FASTLANE_TEST_MYSQL_CA") else {
        panic!("FASTLANE_TEST_MYSQL_CA is not set: start the services with scripts/services.sh up");
    };
    let db = TestDb::new("src_tls").await;
    numbers_table(&db, 10).await;
    let mut section = db.section("nums");
    section["key"] = json!("id");
    section["tls"] = json!({ "mode": "verify_identity", "ca": ca });
    let mut source = open(section.clone(), ReplicationMode::FullTable, None)
        .await
        .unwrap();
    assert_eq!(ids(&read_all(&mut source).await).len(), 10);

    // Without the test CA the self-signed chain is refused.
    section["tls"] = json!({ "mode": "verify_identity" });
    let e = message(open(section, ReplicationMode::FullTable, None).await);
    assert!(e.contains("cannot connect"), "{e}");
    db.drop().await;
}

#[tokio::test]
async fn rows_committed_after_the_source_opened_are_not_read() {
    let db = TestDb::new("src_snapshot").await;
    numbers_table(&db, 500).await;
    for concurrency in [1, 3] {
        let mut section = db.section("nums");
        section["key"] = json!("id");
        section["batch_size"] = json!(50);
        section["concurrency"] = json!(concurrency);
        let mut source = open(section, ReplicationMode::FullTable, None)
            .await
            .unwrap();
        // Written while the source runs: inside and beyond the key range it saw at open.
        db.exec("DELETE FROM nums WHERE id BETWEEN 100 AND 199")
            .await;
        db.exec("INSERT INTO nums SELECT seq, 'late', 0 FROM seq_100_to_199")
            .await;
        db.exec("INSERT INTO nums SELECT seq + 10000, 'late', 0 FROM seq_1_to_100")
            .await;
        let batches = read_all(&mut source).await;
        let mut got = ids(&batches);
        got.sort();
        assert_eq!(
            got,
            (1..=500).collect::<Vec<_>>(),
            "concurrency {concurrency}"
        );
        let late: usize = batches
            .iter()
            .map(|b| {
                let names = b.column(1).as_string::<i32>();
                (0..names.len())
                    .filter(|&i| names.value(i) == "late")
                    .count()
            })
            .sum();
        assert_eq!(
            late, 0,
            "concurrency {concurrency}: rows of the snapshot only"
        );
        db.exec("DELETE FROM nums WHERE id > 10000").await;
        db.exec("UPDATE nums SET name = CONCAT('n', id) WHERE name = 'late'")
            .await;
    }
    db.drop().await;
}
