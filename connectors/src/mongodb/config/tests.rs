use super::*;
use mongodb::bson::doc;
use serde_json::json;

fn config(value: Value) -> Config {
    serde_json::from_value(value).unwrap()
}

#[test]
fn conditions_and_projection() {
    let c = config(json!({
        "host": "h", "database": "d", "collection": "c",
        "filter": { "status": "paid" },
        "filter_fields": [["qty", "$gt", 1, 0]],
        "projection": ["qty"],
        "replication_key": "seq",
    }));
    assert_eq!(
        c.conditions().unwrap(),
        [doc! { "status": "paid" }, doc! { "qty": { "$gt": 1 } }]
    );
    assert_eq!(
        c.projection(None).unwrap(),
        Some(doc! { "seq": 1, "qty": 1, "_id": 0 })
    );
    let declared = ["seq".to_string(), "price".to_string()];
    let e = c.projection(Some(&declared)).unwrap_err().to_string();
    assert!(
        e.starts_with("source.mongodb.schema: declares `price`"),
        "{e}"
    );
    let c = config(json!({ "host": "h", "database": "d", "collection": "c" }));
    assert_eq!(c.projection(None).unwrap(), None);
    assert_eq!(
        c.projection(Some(&["_id".to_string(), "a".to_string()]))
            .unwrap(),
        Some(doc! { "_id": 1, "a": 1 })
    );
    let e = config(json!({ "host": "h", "database": "d", "collection": "c",
                           "filter": { "x": { "$date": "yesterday" } } }))
    .conditions()
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("source.mongodb.filter:"), "{e}");
}

#[tokio::test]
async fn connection_keys_are_checked() {
    let message = |v: Value| async move {
        match config(v).endpoint().await {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    };
    let base = json!({ "database": "d", "collection": "c" });
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let e = message(with(json!({ "uri": "mongodb://h", "host": "h" }))).await;
    assert!(e.starts_with("source.mongodb.host: give either"), "{e}");
    let e = message(base.clone()).await;
    assert!(
        e.starts_with("source.mongodb: give the server's `host`"),
        "{e}"
    );
    let e = message(with(json!({ "uri": "mongodb://h", "port": 1 }))).await;
    assert!(e.starts_with("source.mongodb.port:"), "{e}");
    let e = message(with(json!({ "uri": "http://h" }))).await;
    assert!(e.starts_with("source.mongodb.uri:"), "{e}");
    let e = message(with(json!({ "host": "h", "user": "u" }))).await;
    assert!(e.starts_with("source.mongodb.password:"), "{e}");
    let twice = json!({ "uri": "mongodb://a:b@h", "user": "u", "password": "p" });
    let e = message(with(twice)).await;
    assert!(
        e.starts_with("source.mongodb.user: the uri already names a user"),
        "{e}"
    );
    let e = message(with(json!({ "host": "h", "auth_source": "d" }))).await;
    assert!(e.starts_with("source.mongodb.auth_source:"), "{e}");
    let unset = json!({ "host": "h", "user": "u", "password_env": "FL_UNSET_VAR_4711" });
    let e = message(with(unset)).await;
    assert!(e.starts_with("source.mongodb.password_env:"), "{e}");

    let endpoint = config(with(
        json!({ "host": "db.local", "user": "u", "password": "p" }),
    ))
    .endpoint()
    .await
    .unwrap();
    assert_eq!(endpoint.hosts, "db.local:27017");
    let credential = endpoint.options.credential.clone().unwrap();
    assert_eq!(credential.source.as_deref(), Some("admin"));
    assert_eq!(
        endpoint.options.server_selection_timeout,
        Some(Duration::from_secs(10))
    );
    let endpoint = config(with(json!({
        "uri": "mongodb://u:p@h1:1,h2:2/db?serverSelectionTimeoutMS=3000",
    })))
    .endpoint()
    .await
    .unwrap();
    assert_eq!(endpoint.hosts, "h1:1,h2:2");
    assert_eq!(
        endpoint.options.server_selection_timeout,
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        endpoint.auth_source, "db",
        "a URI's database is its auth source"
    );
}
