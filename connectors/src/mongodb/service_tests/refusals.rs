//! Values that do not fit, declared schemas, mistakes and unreachable servers: what the
//! `mongodb` source refuses or turns to null, against the real server.

use super::*;

#[tokio::test]
async fn values_that_do_not_fit_fail_or_become_null() {
    let db = TestDb::new("src_mismatch").await;
    let mut docs: Vec<Document> = (1..=5u64)
        .map(|k| doc! { "_id": oid(k), "qty": k as i32, "address": { "zip": 75000 + k as i32 } })
        .collect();
    docs.push(doc! { "_id": oid(6), "qty": "lots", "address": { "zip": 1 } });
    docs.push(doc! { "_id": oid(7), "qty": 7, "address": { "zip": "75007" } });
    db.insert("docs", docs).await;
    let mut section = db.section("docs");
    // The sample sees integers only.
    section["sample_size"] = json!(5);

    let e = message(read(section.clone(), None).await);
    assert!(
        e.starts_with(&format!(
            "source.mongodb: {}.docs: document _id={}: field `qty`: expected int32, found string",
            db.name,
            oid(6).to_hex()
        )),
        "{e}"
    );

    section["on_mismatch"] = json!("null");
    let batches = read(section, None).await.unwrap();
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let qty: Vec<Option<i32>> = batch
        .column_by_name("qty")
        .unwrap()
        .as_primitive::<Int32Type>()
        .iter()
        .collect();
    assert_eq!(
        qty,
        [Some(1), Some(2), Some(3), Some(4), Some(5), None, Some(7)]
    );
    let zip: Vec<Option<i32>> = batch
        .column_by_name("address")
        .unwrap()
        .as_struct()
        .column_by_name("zip")
        .unwrap()
        .as_primitive::<Int32Type>()
        .iter()
        .collect();
    assert_eq!(
        zip,
        [
            Some(75001),
            Some(75002),
            Some(75003),
            Some(75004),
            Some(75005),
            Some(1),
            None
        ]
    );
    db.drop().await;
}

#[tokio::test]
async fn a_declared_schema_decides_the_columns() {
    let db = TestDb::new("src_schema").await;
    db.insert(
        "docs",
        vec![
            doc! { "_id": oid(1), "qty": 5, "price": 12, "tags": ["a", "b"],
            "address": { "city": "Paris", "zip": 75001 }, "ignored": true },
            // nx-27017 cannot store Decimal128: the decimal column gets an integer (read
            // exactly) and a double (which no decimal holds exactly: nulled and counted).
            doc! { "_id": oid(2), "qty": 1_i64 << 40, "price": 2.5, "tags": [] },
        ],
    )
    .await;
    let mut section = db.section("docs");
    section["schema"] = json!({
        "_id": "objectid", "qty": "int64", "price": "decimal(18,2)", "tags": ["string"],
        "address": { "city": "string" },
    });
    section["on_mismatch"] = json!("null");
    let batches = read(section, None).await.unwrap();
    let batch = &batches[0];
    let schema = batch.schema();
    let types: Vec<(&str, &DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let list = DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
        "item",
        DataType::Utf8,
        true,
    )));
    let address =
        DataType::Struct(vec![arrow::datatypes::Field::new("city", DataType::Utf8, true)].into());
    assert_eq!(
        types,
        [
            ("_id", &DataType::Utf8),
            ("qty", &DataType::Int64),
            ("price", &DataType::Decimal128(18, 2)),
            ("tags", &list),
            ("address", &address),
        ]
    );
    let qty: Vec<i64> = batch
        .column(1)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec();
    assert_eq!(qty, [5, 1 << 40]);
    let price = batch.column(2).as_primitive::<Decimal128Type>();
    assert_eq!(price.value(0), 1200);
    assert!(price.is_null(1));
    let tags = batch.column(3).as_list::<i32>();
    assert_eq!(tags.value(0).as_string::<i32>().value(1), "b");
    assert!(tags.value(1).is_empty());
    let address = batch.column(4).as_struct();
    assert_eq!(address.column(0).as_string::<i32>().value(0), "Paris");
    assert!(address.is_null(1));
    db.drop().await;
}

#[tokio::test]
async fn mistakes_and_unreachable_servers_are_named() {
    let db = TestDb::new("src_errors").await;
    db.insert("docs", vec![doc! { "_id": oid(1), "grp": 1 }])
        .await;
    let section = db.section("docs");

    // Unknown keys are refused before anything connects.
    let mut unknown = section.clone();
    unknown["colour"] = json!("blue");
    let e =
        message(crate::test_util::open_source("mongodb", unknown, SourceContext::default()).await);
    assert!(e.starts_with("source.mongodb.colour: unknown field"), "{e}");

    let mut missing = section.clone();
    missing["collection"] = json!("nope");
    let e = message(open(missing, None).await);
    let (host, port) = db.address().await;
    assert_eq!(
        e,
        format!(
            "source.mongodb.collection: collection {}.nope does not exist at {host}:{port}",
            db.name
        )
    );

    // A closed port: the server-selection timeout ends the wait, and the message names it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let unreachable = json!({ "host": "127.0.0.1", "port": closed, "database": db.name,
                              "collection": "docs", "connect_timeout_s": 1 });
    let started = std::time::Instant::now();
    let e = message(open(unreachable, None).await);
    assert!(
        e.contains(&format!(
            "no MongoDB server answered at 127.0.0.1:{closed} within 1 s"
        )),
        "{e}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // nx-27017 gap: it has no authentication (createUser is a no-op, saslStart answers an
    // empty document), so every credential fails in the client's SCRAM exchange. What is
    // checked here holds for a real MongoDB too: the error names the user and the auth
    // source, and never the password.
    let credentials = json!({ "host": host, "port": port, "user": "nobody",
                              "password": "wrong-secret-4711", "database": db.name,
                              "collection": "docs", "connect_timeout_s": 5 });
    let e = message(open(credentials, None).await);
    assert!(
        e.contains("authentication failed for user `nobody` (auth source `admin`)")
            && !e.contains("wrong-secret-4711"),
        "{e}"
    );

    // A key of several types, and a key that repeats.
    db.insert("mixed", vec![doc! { "_id": 1 }, doc! { "_id": "one" }])
        .await;
    let e = message(open(db.section("mixed"), None).await);
    assert!(
        e.starts_with("source.mongodb.replication_key:") && e.contains("several BSON types"),
        "{e}"
    );
    db.insert(
        "groups",
        vec![
            doc! { "_id": oid(1), "grp": 1 },
            doc! { "_id": oid(2), "grp": 1 },
            doc! { "_id": oid(3), "grp": 2 },
        ],
    )
    .await;
    let mut by_group = db.section("groups");
    by_group["replication_key"] = json!("grp");
    let e = message(read(by_group, None).await);
    assert!(e.contains("the replication key must be unique"), "{e}");

    let mut both = section.clone();
    both["host"] = json!("127.0.0.1");
    let e = message(open(both, None).await);
    assert!(e.starts_with("source.mongodb.host: give either"), "{e}");
    db.drop().await;
}

#[tokio::test]
async fn an_empty_collection_gives_one_empty_batch() {
    let db = TestDb::new("src_empty").await;
    db.insert("docs", vec![doc! { "_id": oid(1) }]).await;
    db.client
        .database(&db.name)
        .collection::<Document>("docs")
        .delete_many(doc! {})
        .await
        .unwrap();
    let batches = read(db.section("docs"), None).await.unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);
    assert_eq!(batches[0].schema().field(0).name(), "_id");

    // With a declared schema, the empty batch has the declared columns.
    let mut section = db.section("docs");
    section["schema"] = json!({ "_id": "objectid", "qty": "int64" });
    let batches = read(section, None).await.unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);
    assert_eq!(batches[0].schema().fields().len(), 2);
    db.drop().await;
}
