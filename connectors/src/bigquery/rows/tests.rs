use arrow::array::{Array, AsArray};
use arrow::datatypes::{Decimal128Type, Int64Type};

use super::*;

fn fields(value: serde_json::Value) -> Vec<FieldSchema> {
    serde_json::from_value(value).unwrap()
}

fn rows(json: &str) -> Vec<Value> {
    #[derive(Deserialize)]
    struct Page {
        rows: Vec<Value>,
    }
    serde_json::from_str::<Page>(json).unwrap().rows
}

#[test]
fn cells_deserialize_without_maps() {
    let rows = rows(
        r#"{"rows":[{"f":[{"v":"1"},{"v":null},{"v":[{"v":"a"}]},{"v":{"f":[{"v":"x"}]}},{"v":true}]}]}"#,
    );
    assert_eq!(
        rows,
        [Value::Record(vec![
            Value::Text("1".into()),
            Value::Null,
            Value::List(vec![Value::Text("a".into())]),
            Value::Record(vec![Value::Text("x".into())]),
            Value::Text("true".into()),
        ])]
    );
}

#[test]
fn nested_rows_become_lists_and_structs() {
    let schema = fields(serde_json::json!([
        { "name": "id", "type": "INTEGER", "mode": "REQUIRED" },
        { "name": "n", "type": "NUMERIC" },
        { "name": "tags", "type": "STRING", "mode": "REPEATED" },
        { "name": "rec", "type": "RECORD", "fields": [
            { "name": "a", "type": "INTEGER" },
            { "name": "ys", "type": "FLOAT", "mode": "REPEATED" } ] }
    ]));
    let mut decoder = PageDecoder::new(&schema).unwrap();
    let page = rows(
        r#"{"rows":[
          {"f":[{"v":"1"},{"v":"1.5"},{"v":[{"v":"a"},{"v":"b"}]},{"v":{"f":[{"v":"7"},{"v":[{"v":"0.5"}]}]}}]},
          {"f":[{"v":"2"},{"v":null},{"v":[]},{"v":null}]}
        ]}"#,
    );
    let batch = decoder.decode(&page).unwrap();
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(
        batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec(),
        [1, 2]
    );
    let n = batch.column(1).as_primitive::<Decimal128Type>();
    assert_eq!((n.value(0), n.is_null(1)), (1_500_000_000, true));
    let tags = batch.column(2).as_list::<i32>();
    assert_eq!(tags.value_offsets(), &[0, 2, 2]);
    assert_eq!(tags.null_count(), 0);
    let rec = batch.column(3).as_struct();
    assert!(rec.is_valid(0) && rec.is_null(1));
    assert_eq!(rec.column(0).as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(rec.column(1).as_list::<i32>().value_offsets(), &[0, 1, 1]);

    // The decoder is reused page after page.
    let again = decoder.decode(&page[..1]).unwrap();
    assert_eq!(again.num_rows(), 1);
}

#[test]
fn a_bad_value_names_its_row_column_and_text() {
    let schema = fields(serde_json::json!([
        { "name": "id", "type": "INTEGER" },
        { "name": "rec", "type": "RECORD", "fields": [{ "name": "d", "type": "DATE" }] }
    ]));
    let mut decoder = PageDecoder::new(&schema).unwrap();
    let page = rows(
        r#"{"rows":[{"f":[{"v":"1"},{"v":{"f":[{"v":"2024-01-01"}]}}]},
                    {"f":[{"v":"2"},{"v":{"f":[{"v":"2024-13-01"}]}}]}]}"#,
    );
    let err = decoder.decode(&page).unwrap_err();
    assert_eq!(err.row, 1);
    assert_eq!(
        err.message,
        "column `rec.d`: cannot read \"2024-13-01\" as DATE"
    );
    // Nothing of the failed page leaks into the next one.
    let ok = decoder.decode(&page[..1]).unwrap();
    assert_eq!(ok.num_rows(), 1);

    let required =
        fields(serde_json::json!([{ "name": "id", "type": "INT64", "mode": "REQUIRED" }]));
    let mut decoder = PageDecoder::new(&required).unwrap();
    let err = decoder
        .decode(&rows(r#"{"rows":[{"f":[{"v":null}]}]}"#))
        .unwrap_err();
    assert!(
        err.message.contains("null in a REQUIRED column"),
        "{}",
        err.message
    );
    let err = decoder.decode(&rows(r#"{"rows":[{"f":[]}]}"#)).unwrap_err();
    assert!(
        err.message.contains("expected a row of 1 cells"),
        "{}",
        err.message
    );
}
