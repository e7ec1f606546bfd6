//! The real MongoDB-protocol server the tests use (started by `scripts/services.sh up`,
//! `FASTLANE_TEST_MONGODB_URI`), and a fresh database per test so tests run in any order.

use std::sync::atomic::{AtomicUsize, Ordering};

use mongodb::bson::oid::ObjectId;
use mongodb::bson::Document;
use mongodb::options::{ClientOptions, ServerAddress};
use mongodb::Client;
use serde_json::{json, Value};

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn server_uri() -> String {
    std::env::var("FASTLANE_TEST_MONGODB_URI").expect(
        "FASTLANE_TEST_MONGODB_URI is not set: start the test services with \
         `eval \"$(scripts/services.sh up)\"` (scripts/test.sh does)",
    )
}

/// A database of its own on the test server.
pub struct TestDb {
    pub client: Client,
    pub uri: String,
    pub name: String,
}

impl TestDb {
    /// Create `fl_{tag}_{pid}_{n}` (empty).
    pub async fn new(tag: &str) -> Self {
        let uri = server_uri();
        let client = Client::with_uri_str(&uri)
            .await
            .expect("FASTLANE_TEST_MONGODB_URI is a mongodb:// URI");
        let name = format!(
            "fl_{tag}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        client
            .database(&name)
            .drop()
            .await
            .expect("the test MongoDB answers");
        Self { client, uri, name }
    }

    /// Insert `docs` into `collection`.
    pub async fn insert(&self, collection: &str, docs: Vec<Document>) {
        self.client
            .database(&self.name)
            .collection::<Document>(collection)
            .insert_many(docs)
            .await
            .unwrap_or_else(|e| panic!("seeding {}.{collection}: {e}", self.name));
    }

    /// A `mongodb` source section for `collection`.
    pub fn section(&self, collection: &str) -> Value {
        json!({ "uri": self.uri, "database": self.name, "collection": collection,
                "connect_timeout_s": 5 })
    }

    /// The server's host and port.
    pub async fn address(&self) -> (String, u16) {
        let options = ClientOptions::parse(self.uri.as_str()).await.unwrap();
        match options.hosts.first() {
            Some(ServerAddress::Tcp { host, port }) => (host.clone(), port.unwrap_or(27017)),
            other => panic!("a TCP test server, not {other:?}"),
        }
    }

    /// Drop the database.
    pub async fn drop(self) {
        self.client.database(&self.name).drop().await.unwrap();
    }
}

/// An ObjectId whose order is `n`'s.
pub fn oid(n: u64) -> ObjectId {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&0x65a1_b2c3u32.to_be_bytes());
    bytes[4..].copy_from_slice(&n.to_be_bytes());
    ObjectId::from_bytes(bytes)
}
