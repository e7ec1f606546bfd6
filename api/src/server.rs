//! `fastlane serve`: open (and migrate) the database, build the routes, serve until stopped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fastlane_migrations::{Migrator, MigratorTrait};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::CatchPanic;
use poem::{http::Method, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, TransactionTrait,
};
use tokio::sync::broadcast;

use crate::body::MAX_BODY_BYTES;
use crate::error::{to_json_error, ApiError};
use crate::ingest::Ingest;
use crate::model::AuthScope;
use crate::routes::health::HealthApi;
use crate::routes::logs::LogsApi;
use crate::routes::metrics::MetricsApi;
use crate::routes::overview::OverviewApi;
use crate::routes::pipelines::PipelinesApi;
use crate::routes::runs::RunsApi;
use crate::routes::{AppState, KnownRuns};
use crate::telemetry::Telemetry;

/// How to run the service.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on (port 0: any free port, printed on start).
    pub bind: SocketAddr,
    /// `sqlite://path?mode=rwc` or `postgres://user:password@host:port/db`.
    pub database_url: String,
    /// When set, writes need `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// With a token: reads of the API (pipelines, configs, runs, metrics, logs) need it too.
    /// The UI's page, the docs, the OpenAPI document and `/healthz` stay open.
    pub protect_reads: bool,
    /// Database connections in the pool.
    pub max_connections: u32,
}

/// Open the database, apply the migrations and build the service's routes. `telemetry` is also
/// what the request counter middleware feeds.
pub async fn app(config: &ServeConfig) -> anyhow::Result<(impl Endpoint + use<>, &'static str)> {
    // An empty token (an unset secret, say) protects nothing: with --protect-reads the service
    // would be open while promising otherwise, so it does not start.
    if config.protect_reads && config.token.as_deref().is_none_or(|t| t.trim().is_empty()) {
        anyhow::bail!("--protect-reads needs a non-empty --token (FASTLANE_API_TOKEN is empty)");
    }
    let db = connect(&config.database_url, config.max_connections).await?;
    migrate(&db)
        .await
        .context("applying the database migrations")?;
    let backend = match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    };
    let telemetry = Telemetry::default();
    let token = config.token.clone().filter(|t| !t.is_empty());
    let auth = match (&token, config.protect_reads) {
        (None, _) => AuthScope::None,
        (Some(_), false) => AuthScope::Writes,
        (Some(_), true) => AuthScope::All,
    };
    let state = Arc::new(AppState {
        auth,
        ingest: Ingest::start(db.clone(), telemetry.clone()),
        db,
        backend,
        known_runs: KnownRuns::default(),
        changes: broadcast::channel(1024).0,
        telemetry: telemetry.clone(),
    });
    let api = OpenApiService::new(
        (
            PipelinesApi(state.clone()),
            OverviewApi(state.clone()),
            RunsApi(state.clone()),
            MetricsApi(state.clone()),
            LogsApi(state.clone()),
            HealthApi(state.clone()),
        ),
        "fastlane monitoring API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Pipelines, their runs, each run's metric series and logs, and a live stream of a run. \
         `fastlane run --api URL` reports here. When the service has a token, every write \
         (POST, PUT, PATCH, DELETE) needs `Authorization: Bearer <token>`; reads are open \
         unless it runs with `--protect-reads` (`/healthz` says which: its `auth`). The web UI \
         is at `/`.",
    );
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let protect_reads = auth == AuthScope::All;
    let routes = crate::ui::routes(
        Route::new()
            .nest(
                "/",
                api.around(|ep, req| async move {
                    match crate::ui::page(&req) {
                        Some(page) => Ok(page),
                        None => ep.call(req).await.map(IntoResponse::into_response),
                    }
                }),
            )
            .at("/openapi.json", spec)
            .nest("/docs", docs),
    )
    .around(move |ep, req| {
        let token = token.clone();
        async move {
            authorize(token.as_deref(), protect_reads, &req)?;
            check_body_size(&req)?;
            ep.call(req).await.map(IntoResponse::into_response)
        }
    })
    .with(CatchPanic::new())
    .catch_all_error(to_json_error)
    .around(move |ep, req| {
        let telemetry = telemetry.clone();
        async move {
            let started = Instant::now();
            let method = req.method().clone();
            let response = ep.call(req).await?.into_response();
            telemetry.record_request(
                method.as_str(),
                response.status().as_u16(),
                started.elapsed(),
            );
            Ok::<Response, poem::Error>(response)
        }
    });
    Ok((routes, backend))
}

/// Apply the pending migrations. On PostgreSQL they run in one transaction holding an advisory
/// lock, so replicas starting together apply them once (the others wait, then find them done).
async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(7213891634)")
        .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Serve until SIGINT/SIGTERM, then finish the requests in flight.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let (app, backend) = app(&config).await?;
    let acceptor = TcpListener::bind(config.bind)
        .into_acceptor()
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(config.bind);
    eprintln!(
        "fastlane monitoring API listening on http://{local} ({backend}: {}); UI at http://{local}/, docs at http://{local}/docs, OpenAPI at http://{local}/openapi.json{}",
        crate::redact::redact_url(&config.database_url),
        match (
            config.token.as_deref().is_some_and(|t| !t.is_empty()),
            config.protect_reads,
        ) {
            (false, _) => "",
            (true, false) => "; writes need the bearer token",
            (true, true) => "; reads and writes need the bearer token",
        }
    );
    poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(Duration::from_secs(5)))
        .await
        .context("serving")?;
    Ok(())
}

/// Open the pool; SQLite gets WAL, a busy timeout and foreign keys.
async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    let shown = crate::redact::redact_url(url);
    match Database::connect(options).await {
        Ok(db) => Ok(db),
        // The pool only says it timed out: one direct connection says why (refused, unknown
        // host, authentication failed, no such database).
        Err(e) if url.starts_with("postgres") => {
            use sea_orm::sqlx::Connection;
            let cause = match tokio::time::timeout(
                Duration::from_secs(10),
                sea_orm::sqlx::PgConnection::connect(url),
            )
            .await
            {
                Ok(Err(cause)) => cause.to_string(),
                _ => e.to_string(),
            };
            Err(anyhow::anyhow!("cannot open the database {shown}: {cause}"))
        }
        Err(e) => Err(anyhow::anyhow!("cannot open the database {shown}: {e}")),
    }
}

/// A declared body past [`MAX_BODY_BYTES`] is refused before it is read (`Body` also stops
/// reading at the limit, whatever the headers say).
fn check_body_size(req: &Request) -> poem::Result<()> {
    let length = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match length {
        Some(n) if n > MAX_BODY_BYTES => Err(ApiError::payload_too_large(n).into()),
        _ => Ok(()),
    }
}

/// Writes need the token when one is configured, and reads of the API's data too with
/// `protect_reads`; compared in constant time.
fn authorize(token: Option<&str>, protect_reads: bool, req: &Request) -> poem::Result<()> {
    let Some(token) = token else {
        return Ok(());
    };
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let path = req.uri().path();
        let data = path.starts_with("/api/") || path == "/metrics";
        if !(protect_reads && data) || *req.method() == Method::OPTIONS {
            return Ok(());
        }
    }
    // The scheme is case-insensitive (RFC 9110), the token is not.
    let given = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        let what = if protect_reads {
            "reads and writes"
        } else {
            "writes"
        };
        Err(ApiError::unauthorized(format!(
            "this service needs `Authorization: Bearer <token>` for {what}"
        ))
        .into())
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).ok();
    let term = async {
        match terminate.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}
