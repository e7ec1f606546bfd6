//! BigQuery → Wasm transform → Parquet and `generate` → InfluxDB through the `fastlane` binary,
//! against the BigQuery emulator and the InfluxDB-write-compatible server of
//! `scripts/services.sh`.

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Decimal128Type, Int64Type, TimeUnit, TimestampMicrosecondType};
use serde_json::{json, Value};

use common::{assert_fails, assert_ok, read_parquet, summary, text, wasm};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the test services with `scripts/services.sh up`")
    })
}

/// One test at a time talks to the BigQuery emulator: bqemulator 1.4 answers every request on
/// one shared DuckDB connection, so concurrent requests can read each other's results.
static EMULATOR: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// POST `body` to the emulator's `path` (under `/bigquery/v2/projects/{project}/`).
async fn bigquery(path: &str, body: Value) -> Value {
    let url = format!(
        "{}/bigquery/v2/projects/{}/{path}",
        var("FASTLANE_TEST_BIGQUERY_ENDPOINT"),
        var("FASTLANE_TEST_BIGQUERY_PROJECT")
    );
    let answer: Value = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .json()
        .await
        .unwrap();
    assert!(
        answer.get("errors").is_none() && answer.get("error").is_none(),
        "{answer}"
    );
    answer
}

#[tokio::test]
async fn a_bigquery_table_reaches_parquet_through_passthrough_wasm_on_both_read_paths() {
    let _turn = EMULATOR.lock().await;
    let project = var("FASTLANE_TEST_BIGQUERY_PROJECT");
    let dataset = format!("fl_e2e_{}", std::process::id());
    bigquery(
        "datasets",
        json!({ "datasetReference": { "projectId": project, "datasetId": dataset } }),
    )
    .await;
    bigquery(
        "queries",
        json!({
            "useLegacySql": false,
            "query": format!(
                "CREATE TABLE `{project}.{dataset}.orders` AS SELECT id, \
                 CONCAT('n', CAST(id AS STRING)) AS name, CAST(id / 4 AS NUMERIC) AS amount, \
                 TIMESTAMP_ADD(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL id SECOND) AS at \
                 FROM UNNEST(GENERATE_ARRAY(1, 2500)) AS id"
            ),
        }),
    )
    .await;

    for read_api in ["storage", "rest"] {
        let config = json!({
            "source": { "bigquery": {
                "gcp_project": project, "dataset_id": dataset, "table_id": "orders",
                "endpoint": var("FASTLANE_TEST_BIGQUERY_ENDPOINT"),
                "storage_endpoint": var("FASTLANE_TEST_BIGQUERY_GRPC"),
                "read_api": read_api, "page_size": 700,
            } },
            "transform": { "wasm": wasm("passthrough"), "concurrency": 2 },
            "target": { "file": { "path": "out.parquet" } },
        });
        let dir = tempfile::tempdir().unwrap();
        let out = common::run_config(dir.path(), &config, &["--summary-json", "summary.json"]);
        assert_ok(&out);
        assert_eq!(
            summary(dir.path())["rows_loaded"],
            json!(2500),
            "{}",
            text(&out)
        );

        let batch = read_parquet(&dir.path().join("out.parquet"));
        let ids = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<Int64Type>();
        let row = (0..batch.num_rows())
            .find(|&i| ids.value(i) == 10)
            .expect("row 10");
        let amount = batch.column_by_name("amount").unwrap();
        assert_eq!(
            amount.data_type(),
            &DataType::Decimal128(38, 9),
            "{read_api}"
        );
        assert_eq!(
            amount.as_primitive::<Decimal128Type>().value(row),
            2_500_000_000,
            "10 / 4 = 2.5, exactly ({read_api})"
        );
        let at = batch.column_by_name("at").unwrap();
        assert_eq!(
            at.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            at.as_primitive::<TimestampMicrosecondType>().value(row),
            (1_704_067_200 + 10) * 1_000_000
        );
        assert_eq!(
            batch
                .column_by_name("name")
                .unwrap()
                .as_string::<i32>()
                .value(row),
            "n10"
        );
    }
}

#[tokio::test]
async fn a_missing_bigquery_table_fails_the_run_and_names_it() {
    let _turn = EMULATOR.lock().await;
    let config = json!({
        "source": { "bigquery": {
            "gcp_project": var("FASTLANE_TEST_BIGQUERY_PROJECT"), "dataset_id": "fl_e2e_none",
            "table_id": "absent", "endpoint": var("FASTLANE_TEST_BIGQUERY_ENDPOINT"),
            "read_api": "rest",
        } },
        "target": { "file": { "path": "out.parquet" } },
    });
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_config(dir.path(), &config, &[]);
    assert_fails(&out, 1, &["fl_e2e_none", "absent"]);
    assert!(!dir.path().join("out.parquet").exists());
}

#[tokio::test]
async fn generated_rows_become_influxdb_points_with_their_tags_and_times() {
    let url = var("FASTLANE_TEST_INFLUX_URL");
    let measurement = format!("fl_e2e_{}", std::process::id());
    let config = json!({
        "source": { "generate": { "rows": 5000, "batch_size": 1000, "seed": 3 } },
        "transform": { "wasm": wasm("passthrough") },
        "target": { "influxdb": {
            "url": url, "bucket": "e2e", "measurement": measurement,
            "tag_columns": ["country"], "field_columns": ["quantity"],
            "time_column": "created_at", "precision": "us", "concurrency": 2,
        } },
    });
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_config(dir.path(), &config, &["--summary-json", "summary.json"]);
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(5000),
        "{}",
        text(&out)
    );

    let http = reqwest::Client::new();
    http.get(format!("{url}/internal/force_flush"))
        .send()
        .await
        .unwrap();
    let export = http
        .get(format!("{url}/api/v1/export"))
        .query(&[(
            "match[]",
            format!("{{__name__=\"{measurement}_quantity\"}}"),
        )])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (mut points, mut tagged) = (0, 0);
    for line in export.lines().filter(|l| !l.trim().is_empty()) {
        let series: Value = serde_json::from_str(line).unwrap();
        let values = series["values"].as_array().unwrap();
        assert!(values.iter().all(|v| v.as_f64().is_some_and(|q| q >= 1.0)));
        points += values.len();
        // About 2% of the generated orders have no country: their points carry no tag.
        if let Some(country) = series["metric"].get("country") {
            assert!(country.as_str().is_some_and(|c| !c.is_empty()), "{series}");
            tagged += values.len();
        }
    }
    assert_eq!(points, 5000, "one point per row");
    assert!(tagged > 4500, "{tagged} of 5000 points carry a country");
}
