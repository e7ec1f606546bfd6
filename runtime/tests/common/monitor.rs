//! A real `fastlane serve` for the tests, on SQLite or on the PostgreSQL of
//! `scripts/services.sh`, and a small JSON client for it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where a test service keeps its data.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// A SQLite file in the test's directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL.
    Postgres,
}

/// A running `fastlane serve`, killed on drop.
pub struct Monitor {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The database it uses.
    pub database_url: String,
    child: Child,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

/// A database URL for `backend`: a file under `dir`, or a new PostgreSQL database.
pub async fn database(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("monitor.db").display()),
        Backend::Postgres => {
            let server = std::env::var("FASTLANE_TEST_POSTGRES_URL").expect(
                "FASTLANE_TEST_POSTGRES_URL is not set: start the test services with \
                 `eval \"$(scripts/services.sh up)\"` (scripts/test.sh does)",
            );
            let name = format!(
                "fl_monitor_{}_{}",
                std::process::id(),
                DATABASES.fetch_add(1, Ordering::Relaxed)
            );
            let admin = sea_orm::Database::connect(server.as_str())
                .await
                .expect("the test PostgreSQL answers");
            use sea_orm::ConnectionTrait;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            admin.close().await.unwrap();
            let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        }
    }
}

impl Monitor {
    /// Start `fastlane serve` on a free port with `database_url` (and `token` for writes).
    pub fn start(database_url: &str, token: Option<&str>) -> Self {
        Self::start_on("127.0.0.1:0", database_url, token)
    }

    /// Start on `bind` (e.g. a port a run already reports to).
    pub fn start_on(bind: &str, database_url: &str, token: Option<&str>) -> Self {
        let args: Vec<&str> = token.map_or(vec![], |t| vec!["--token", t]);
        Self::start_with(bind, database_url, &args)
    }

    /// Start on `bind` with more `fastlane serve` arguments.
    pub fn start_with(bind: &str, database_url: &str, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fastlane"));
        command
            .args(["serve", "--bind", bind, "--database-url", database_url])
            .args(args)
            .env_remove("FASTLANE_API_TOKEN")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("fastlane serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send(Ok(addr));
                        sent = true;
                        continue;
                    }
                    if line.contains("error") {
                        let _ = tx.send(Err(line.clone()));
                    }
                }
                // Keep draining so the service never blocks on a full pipe.
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(addr)) => addr,
            Ok(Err(line)) => {
                let _ = child.kill();
                panic!("fastlane serve failed to start: {line}");
            }
            Err(_) => {
                let _ = child.kill();
                panic!("fastlane serve did not start within 60 s");
            }
        };
        Monitor {
            url: format!("http://{addr}"),
            database_url: database_url.to_string(),
            child,
        }
    }

    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kill the service at once (SIGKILL) and wait for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A client for this service.
    pub fn client(&self, token: Option<&str>) -> Client {
        Client {
            base: self.url.clone(),
            token: token.map(String::from),
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.kill();
    }
}

/// JSON over HTTP: every call returns the status and the parsed body (`Value::Null` if empty or
/// not JSON).
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// `METHOD path` with an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` body as text, with its status and content type.
    pub async fn get_text(&self, path: &str) -> (u16, String, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the service answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (
            status,
            content_type,
            response.text().await.unwrap_or_default(),
        )
    }

    /// `GET path`, asserting 200.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Poll `GET path` until `done(body)` holds; panics after `timeout`.
    pub async fn wait_for(
        &self,
        path: &str,
        timeout: Duration,
        done: impl Fn(u16, &Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let (status, body) = self.call("GET", path, None).await;
            if done(status, &body) {
                return body;
            }
            assert!(
                started.elapsed() < timeout,
                "GET {path} did not reach the expected state within {timeout:?}: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
