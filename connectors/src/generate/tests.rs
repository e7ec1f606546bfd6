use arrow::array::{Array, AsArray};
use arrow::compute::concat_batches;
use arrow::datatypes::Int64Type;
use serde_json::json;

use super::*;

async fn generate(config: serde_json::Value, context: SourceContext) -> Vec<RecordBatch> {
    let mut source = crate::test_util::open_source("generate", config, context)
        .await
        .unwrap();
    let mut batches = Vec::new();
    while let Some(batch) = source.extract().await.unwrap() {
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

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    concat_batches(&orders::schema(), batches).unwrap()
}

#[tokio::test]
async fn row_count_is_exact_across_batch_boundaries() {
    let batches = generate(
        json!({ "rows": 100_001, "batch_size": 65_536 }),
        SourceContext::default(),
    )
    .await;
    assert_eq!(
        batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        [65_536, 34_465]
    );
    assert_eq!(ids(&batches), (1..=100_001).collect::<Vec<i64>>());
    assert!(batches.iter().all(|b| b.schema() == orders::schema()));
}

#[tokio::test]
async fn same_seed_same_rows_whatever_the_batch_size() {
    let a = generate(
        json!({ "rows": 10_000, "seed": 7 }),
        SourceContext::default(),
    )
    .await;
    let b = generate(
        json!({ "rows": 10_000, "seed": 7 }),
        SourceContext::default(),
    )
    .await;
    let c = generate(
        json!({ "rows": 10_000, "seed": 7, "batch_size": 999 }),
        SourceContext::default(),
    )
    .await;
    let other = generate(
        json!({ "rows": 10_000, "seed": 8 }),
        SourceContext::default(),
    )
    .await;
    assert_eq!(a, b);
    assert_eq!(concat(&a), concat(&c));
    let (a, other) = (concat(&a), concat(&other));
    assert_eq!(
        a.column(0),
        other.column(0),
        "ids do not depend on the seed"
    );
    for column in 1..a.num_columns() {
        assert_ne!(
            a.column(column),
            other.column(column),
            "column {column} ignores the seed"
        );
    }
}

#[tokio::test]
async fn values_look_like_orders() {
    let batch = concat(&generate(json!({ "rows": 20_000 }), SourceContext::default()).await);
    let rows = batch.num_rows() as f64;
    let null_share = |name: &str| batch.column_by_name(name).unwrap().null_count() as f64 / rows;
    assert!(
        (0.27..0.33).contains(&null_share("note")),
        "note nulls {}",
        null_share("note")
    );
    assert!(
        (0.08..0.12).contains(&null_share("ship_date")),
        "ship_date nulls {}",
        null_share("ship_date")
    );
    assert!(
        (0.01..0.03).contains(&null_share("country")),
        "country nulls {}",
        null_share("country")
    );

    let names = batch.column_by_name("name").unwrap().as_string::<i32>();
    assert!(names.iter().flatten().any(|n| n.contains('😀')));
    assert!(names.iter().flatten().any(|n| n.contains('ü')));
    let emails = batch.column_by_name("email").unwrap().as_string::<i32>();
    let customers = batch
        .column_by_name("customer_id")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int32Type>();
    assert_eq!(
        emails.value(0),
        format!("user{}@example.com", customers.value(0))
    );

    // amount = quantity × unit_price, exactly, in cents.
    let amounts = batch
        .column_by_name("amount")
        .unwrap()
        .as_primitive::<arrow::datatypes::Decimal128Type>();
    let quantities = batch
        .column_by_name("quantity")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int32Type>();
    let prices = batch
        .column_by_name("unit_price")
        .unwrap()
        .as_primitive::<arrow::datatypes::Float64Type>();
    for i in 0..batch.num_rows() {
        let cents = (prices.value(i) * 100.0).round() as i128;
        assert_eq!(amounts.value(i), i128::from(quantities.value(i)) * cents);
    }
    let created = batch
        .column_by_name("created_at")
        .unwrap()
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    let ship = batch
        .column_by_name("ship_date")
        .unwrap()
        .as_primitive::<arrow::datatypes::Date32Type>();
    for i in (0..batch.num_rows()).filter(|&i| ship.is_valid(i)) {
        let days = ship.value(i) as i64 - created.value(i).div_euclid(86_400_000_000);
        assert!(
            (1..=7).contains(&days),
            "shipped {days} days after the order"
        );
    }
}

#[tokio::test]
async fn incremental_run_resumes_after_the_offset() {
    let context = SourceContext {
        resume_after: Some(Offset::Int(99_990)),
        ..Default::default()
    };
    let resumed = generate(json!({ "rows": 100_000 }), context).await;
    assert_eq!(ids(&resumed), (99_991..=100_000).collect::<Vec<i64>>());
    let full = concat(&generate(json!({ "rows": 100_000 }), SourceContext::default()).await);
    assert_eq!(concat(&resumed), full.slice(99_990, 10));
}

#[tokio::test]
async fn no_rows_yields_one_empty_batch() {
    let batches = generate(json!({ "rows": 0 }), SourceContext::default()).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);
    assert_eq!(batches[0].schema(), orders::schema());
}

#[tokio::test]
async fn config_errors_name_the_key() {
    for (config, key) in [
        (json!({ "batch_size": 0 }), "source.generate.batch_size"),
        (json!({ "rows": -1 }), "source.generate.rows"),
        (
            json!({ "rows": 1, "colour": "red" }),
            "source.generate.colour",
        ),
    ] {
        let err =
            crate::test_util::open_source("generate", config.clone(), SourceContext::default())
                .await
                .err()
                .expect("rejected");
        assert!(
            matches!(&err, ConnectorError::Config { path, .. } if path == key),
            "{config}: {err}"
        );
    }
}
