//! MongoDB → Wasm transform → file and MySQL through the `fastlane` binary, against the
//! MongoDB-protocol server and the MariaDB of `scripts/services.sh`.

mod common;

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, StringArray,
    StructArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use fastlane_connectors::mongodb_test_support::{oid, TestDb};
use fastlane_connectors::test_support::MySqlTestDb;
use mongodb::bson::{doc, DateTime, Document};
use serde_json::json;

use common::{assert_fails, assert_ok, read_parquet, summary, text, wasm};

/// Documents `from..=to` of a small orders collection, `_id`s in the order of `n`.
fn orders(from: u64, to: u64) -> Vec<Document> {
    (from..=to)
        .map(|n| {
            doc! {
                "_id": oid(n),
                "n": n as i64 * 1_000_000_007,
                "customer": format!("c{} 🦀", n % 17),
                "amount": n as f64 / 4.0,
                "paid": n % 3 == 0,
            }
        })
        .collect()
}

#[tokio::test]
async fn documents_of_every_type_reach_a_parquet_file_through_passthrough_wasm() {
    let mongo = TestDb::new("e2e_types").await;
    let at = DateTime::from_millis(1_700_000_000_123);
    let mut docs = Vec::new();
    for n in 1..=7u64 {
        let mut d = doc! {
            "_id": oid(n),
            "small": n as i32,
            "big": 9_000_000_000i64 + n as i64,
            "ratio": n as f64 + 0.5,
            "flag": n % 2 == 0,
            "name": format!("名前 {n} 😀"),
            "at": at,
            "address": { "city": format!("city {n}"), "zip": n as i32 * 100 },
            "tags": ["a", format!("t{n}")],
            "lines": [ { "sku": format!("s{n}"), "qty": n as i32 } ],
        };
        if n == 4 {
            // A document with its optional fields null or missing.
            d.insert("name", mongodb::bson::Bson::Null);
            d.remove("address");
            d.remove("tags");
        }
        docs.push(d);
    }
    mongo.insert("things", docs).await;

    let mut source = mongo.section("things");
    source["batch_size"] = json!(3);
    let config = json!({
        "source": { "mongodb": source },
        "transform": { "wasm": wasm("passthrough"), "concurrency": 2 },
        "target": { "file": { "path": "out.parquet" } },
    });
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_config(dir.path(), &config, &["--summary-json", "summary.json"]);
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(7),
        "{}",
        text(&out)
    );

    let batch = read_parquet(&dir.path().join("out.parquet"));
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("column {name} in {:?}", batch.schema()))
            .clone()
    };
    let ids = col("_id");
    let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
    let expected: Vec<String> = (1..=7).map(|n| oid(n).to_hex()).collect();
    assert_eq!(ids.iter().flatten().collect::<Vec<_>>(), expected);

    let small = col("small");
    let small = small.as_any().downcast_ref::<Int32Array>().unwrap();
    assert_eq!(small.values().to_vec(), (1..=7).collect::<Vec<i32>>());
    let big = col("big");
    let big = big.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(big.value(6), 9_000_000_007);
    let ratio = col("ratio");
    assert_eq!(
        ratio
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .value(2),
        3.5
    );
    let flag = col("flag");
    let flag = flag.as_any().downcast_ref::<BooleanArray>().unwrap();
    assert!(flag.value(1) && !flag.value(0));
    let name = col("name");
    let name = name.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(name.value(0), "名前 1 😀");
    assert!(name.is_null(3));

    let when = col("at");
    assert_eq!(
        when.data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    let when = when
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .unwrap();
    assert_eq!(when.value(5), 1_700_000_000_123);

    let address = col("address");
    let address = address.as_any().downcast_ref::<StructArray>().unwrap();
    assert!(address.is_null(3));
    let city = address.column_by_name("city").unwrap().as_string::<i32>();
    assert_eq!(city.value(4), "city 5");

    let tags = col("tags");
    let tags = tags.as_any().downcast_ref::<ListArray>().unwrap();
    assert!(tags.is_null(3));
    let second = tags.value(1);
    let second = second.as_string::<i32>();
    assert_eq!(second.iter().flatten().collect::<Vec<_>>(), ["a", "t2"]);

    let lines = col("lines");
    let lines = lines.as_any().downcast_ref::<ListArray>().unwrap();
    let line = lines.value(6);
    let line = line.as_struct();
    assert_eq!(
        line.column_by_name("sku")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "s7"
    );
    mongo.drop().await;
}

#[tokio::test]
async fn mongodb_to_mysql_incremental_reruns_load_only_the_new_documents() {
    let mongo = TestDb::new("e2e_incr").await;
    let db = MySqlTestDb::new("e2e_mongo").await;
    mongo.insert("orders", orders(1, 1200)).await;
    let mut source = mongo.section("orders");
    source["batch_size"] = json!(250);
    let config = json!({
        "source": { "mongodb": source },
        "transform": { "wasm": wasm("passthrough"), "concurrency": 2 },
        "target": { "mysql": db.section("orders") },
        "replication_mode": "INCREMENTAL",
    });
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_config(dir.path(), &config, &["--summary-json", "summary.json"]);
    assert_ok(&out);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM orders").await, 1200);

    mongo.insert("orders", orders(1201, 1500)).await;
    let out = common::run_config(dir.path(), &config, &["--summary-json", "summary.json"]);
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(300),
        "the rerun resumes after the largest ObjectId in the target\n{}",
        text(&out)
    );
    assert_eq!(
        db.scalar("SELECT COUNT(DISTINCT `_id`) FROM orders").await,
        1500
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM orders WHERE amount * 4 = n DIV 1000000007")
            .await,
        1500,
        "every row keeps its own values"
    );
    assert_eq!(
        db.scalar("SELECT n FROM orders ORDER BY `_id` DESC LIMIT 1")
            .await,
        1500 * 1_000_000_007
    );
    db.drop().await;
    mongo.drop().await;
}

#[tokio::test]
async fn a_missing_collection_fails_the_run_and_names_it() {
    let mongo = TestDb::new("e2e_missing").await;
    mongo.insert("present", orders(1, 2)).await;
    let config = json!({
        "source": { "mongodb": mongo.section("absent") },
        "target": { "file": { "path": "out.parquet" } },
    });
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_config(dir.path(), &config, &[]);
    assert_fails(
        &out,
        1,
        &[&format!("{}.absent", mongo.name), "does not exist"],
    );
    assert!(!dir.path().join("out.parquet").exists());
    mongo.drop().await;
}

/// `examples/original/mongodb-to-mysql.json` with its connection keys pointed at the test
/// servers (the secrets it names are the production ones), run by the original's command line:
/// every document lands with the original's op columns, keyed by `_id`.
#[tokio::test]
async fn the_original_mongodb_to_mysql_example_runs_with_its_command_line() {
    let mongo = TestDb::new("e2e_orig").await;
    let db = MySqlTestDb::new("e2e_orig_mongo").await;
    mongo.insert("orders", orders(1, 700)).await;
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/original/mongodb-to-mysql.json"
    );
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    let source = config["source"]["mongodb"].as_object_mut().unwrap();
    source.remove("secret");
    for (key, value) in mongo.section("orders").as_object().unwrap() {
        source.insert(key.clone(), value.clone());
    }
    let target = config["target"]["mysql"].as_object_mut().unwrap();
    target.remove("secret");
    for (key, value) in db.section("mongo_orders").as_object().unwrap() {
        target.insert(key.clone(), value.clone());
    }
    target.insert("password".into(), json!(""));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orig.json"), config.to_string()).unwrap();
    let out = common::fastlane(
        dir.path(),
        &[
            "--source=mongodb",
            "--target=mysql",
            "--config=orig.json",
            "--transform=default",
            "--summary-json=summary.json",
        ],
    );
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(700),
        "{}",
        text(&out)
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM mongo_orders WHERE _op_type = 'i' AND _op_timestamp > 0")
            .await,
        700
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM mongo_orders WHERE amount * 4 = n DIV 1000000007")
            .await,
        700,
        "every row keeps its own values"
    );
    db.drop().await;
    mongo.drop().await;
}
