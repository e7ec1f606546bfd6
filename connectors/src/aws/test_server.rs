//! The AWS-compatible test server (moto, started by `scripts/services.sh up`): its endpoint and
//! keys, SDK clients for checking what a connector wrote, and unique names so tests run in any
//! order and in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use serde_json::{json, Value};

use super::{Connection, StaticKeys};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The test server's endpoint, region and keys (`FASTLANE_TEST_AWS_*`).
#[derive(Clone, Debug)]
pub struct TestAws {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The region the tests sign for.
    pub region: String,
    /// Any key id is accepted.
    pub access_key_id: String,
    /// Any secret is accepted.
    pub secret_access_key: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the test services with \
             `eval \"$(scripts/services.sh up)\"` (scripts/test.sh does)"
        )
    })
}

impl TestAws {
    /// The server of `scripts/services.sh` (panics with the command to run when it is not set).
    pub fn from_env() -> Self {
        Self {
            endpoint: var("FASTLANE_TEST_AWS_ENDPOINT"),
            region: var("FASTLANE_TEST_AWS_REGION"),
            access_key_id: var("FASTLANE_TEST_AWS_ACCESS_KEY_ID"),
            secret_access_key: var("FASTLANE_TEST_AWS_SECRET_ACCESS_KEY"),
        }
    }

    /// The second instance, which checks signatures, with its valid keys
    /// (`FASTLANE_TEST_AWS_AUTH_*`): for the bad-credentials cases.
    pub fn checking_signatures() -> Self {
        Self {
            endpoint: var("FASTLANE_TEST_AWS_AUTH_ENDPOINT"),
            region: var("FASTLANE_TEST_AWS_REGION"),
            access_key_id: var("FASTLANE_TEST_AWS_AUTH_ACCESS_KEY_ID"),
            secret_access_key: var("FASTLANE_TEST_AWS_AUTH_SECRET_ACCESS_KEY"),
        }
    }

    /// The connection keys of a connector section pointing at the server: `endpoint_url`,
    /// `region`, `access_key_id`, `secret_access_key`.
    pub fn section_keys(&self) -> serde_json::Map<String, Value> {
        match json!({
            "endpoint_url": self.endpoint,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
        }) {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        }
    }

    /// The environment a `fastlane` child process needs to reach the server through the
    /// standard chain (`AWS_ENDPOINT_URL`, region and keys).
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            // No profile files of the machine's user get in the way.
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An SDK config for the tests' own clients.
    pub async fn sdk_config(&self) -> SdkConfig {
        Connection {
            service: "",
            section: "test",
            region: Some(&self.region),
            endpoint_url: Some(&self.endpoint),
            profile: None,
            keys: Some(StaticKeys {
                access_key_id: &self.access_key_id,
                secret_access_key: &self.secret_access_key,
                session_token: None,
            }),
        }
        .sdk_config()
        .await
        .expect("the test server's SDK config")
    }

    /// An S3 client (path-style, as the test server needs).
    #[cfg(feature = "s3")]
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// A new bucket with a unique name.
    #[cfg(feature = "s3")]
    pub async fn bucket(&self, tag: &str) -> String {
        let name = unique_name(tag);
        self.s3()
            .await
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating bucket {name}: {}", super::describe(&e)));
        name
    }

    /// Every object under `prefix` in `bucket`: (key, content), sorted by key.
    #[cfg(feature = "s3")]
    pub async fn objects(&self, bucket: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let s3 = self.s3().await;
        let mut keys = Vec::new();
        let mut pages = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| panic!("listing {bucket}: {}", super::describe(&e)));
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            let object = s3
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("reading {key}: {}", super::describe(&e)));
            let body = object
                .body
                .collect()
                .await
                .expect("an object's body")
                .into_bytes();
            out.push((key, body.to_vec()));
        }
        out
    }
}

/// `fl-{tag}-{pid}-{n}`: lowercase, as bucket and stream names need.
pub fn unique_name(tag: &str) -> String {
    format!(
        "fl-{}-{}-{}",
        tag.to_ascii_lowercase().replace('_', "-"),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
