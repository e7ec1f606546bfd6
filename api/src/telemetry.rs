//! The service's own Prometheus metrics (`GET /metrics`): requests, group commits, and, read from
//! the database at each scrape, pipelines, runs by status and the latest sample of running runs.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entities::{metric_sample, pipeline, run};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    pipeline: String,
    run: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    pipeline: String,
    run: String,
    stage: String,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histogram,
    commit_seconds: Histogram,
    commit_requests: Histogram,
    committed_rows: Counter,
}

/// Counters the service keeps about itself; cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl Default for Telemetry {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("fastlane_api");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method and status",
            requests.clone(),
        );
        let request_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            request_seconds.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register(
            "ingest_commit_duration_seconds",
            "Time of one group commit of metric samples and log lines",
            commit_seconds.clone(),
        );
        let commit_requests = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        registry.register(
            "ingest_commit_requests",
            "Requests stored by one group commit",
            commit_requests.clone(),
        );
        let committed_rows = Counter::default();
        registry.register(
            "ingest_rows",
            "Metric samples and log lines stored",
            committed_rows.clone(),
        );
        Telemetry {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_seconds,
                commit_seconds,
                commit_requests,
                committed_rows,
            }),
        }
    }
}

impl Telemetry {
    /// Count one answered request.
    pub fn record_request(&self, method: &str, status: u16, elapsed: Duration) {
        // Any method string can arrive: only the known ones become label values.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "OTHER",
        };
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                status,
            })
            .inc();
        self.inner.request_seconds.observe(elapsed.as_secs_f64());
    }

    /// Count one group commit of `requests` requests holding `rows` rows.
    pub fn record_commit(&self, requests: usize, rows: usize, elapsed: Duration) {
        self.inner.commit_seconds.observe(elapsed.as_secs_f64());
        self.inner.commit_requests.observe(requests as f64);
        self.inner.committed_rows.inc_by(rows as u64);
    }

    /// The exposition text: the service's counters plus what the database holds now.
    pub async fn render(&self, db: &DatabaseConnection) -> Result<String, DbErr> {
        let state = database_metrics(db).await?;
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = text::encode_registry(&mut out, &self.inner.registry);
        let _ = text::encode_registry(&mut out, &state);
        let _ = text::encode_eof(&mut out);
        Ok(out)
    }
}

/// Running runs whose latest sample is exported (bounded label cardinality).
const MAX_EXPORTED_RUNS: u64 = 200;

async fn database_metrics(db: &DatabaseConnection) -> Result<Registry, DbErr> {
    let mut registry = Registry::with_prefix("fastlane");
    let pipelines = Gauge::<i64>::default();
    pipelines.set(pipeline::Entity::find().count(db).await? as i64);
    registry.register("pipelines", "Pipelines registered", pipelines);

    let runs = Family::<StatusLabels, Gauge>::default();
    let counts: Vec<(String, i64)> = run::Entity::find()
        .select_only()
        .column(run::Column::Status)
        .column_as(run::Column::Id.count(), "n")
        .group_by(run::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for status in crate::model::RunStatus::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| *n);
        runs.get_or_create(&StatusLabels {
            status: status.as_str().to_string(),
        })
        .set(n);
    }
    registry.register("runs", "Runs by status", runs);

    let rows = Family::<StageLabels, Gauge>::default();
    let rates = Family::<StageLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let rss = Family::<RunLabels, Gauge>::default();
    let running = run::Entity::find()
        .filter(run::Column::Status.eq("running"))
        .order_by_desc(run::Column::StartedAtMs)
        .limit(MAX_EXPORTED_RUNS)
        .all(db)
        .await?;
    for r in running {
        let Some(sample) = metric_sample::Entity::find()
            .filter(metric_sample::Column::RunId.eq(r.id.as_str()))
            .order_by_desc(metric_sample::Column::Id)
            .one(db)
            .await?
        else {
            continue;
        };
        let stage = |stage: &str| StageLabels {
            pipeline: r.pipeline_id.clone(),
            run: r.id.clone(),
            stage: stage.to_string(),
        };
        for (name, total, rate) in [
            ("extract", sample.rows_extracted, sample.extract_rows_per_s),
            (
                "transform",
                sample.rows_transformed,
                sample.transform_rows_per_s,
            ),
            ("load", sample.rows_loaded, sample.load_rows_per_s),
        ] {
            rows.get_or_create(&stage(name)).set(total);
            rates.get_or_create(&stage(name)).set(rate);
        }
        rss.get_or_create(&RunLabels {
            pipeline: r.pipeline_id.clone(),
            run: r.id.clone(),
        })
        .set(sample.rss_bytes);
    }
    registry.register("run_rows", "Rows through each stage of a running run", rows);
    registry.register(
        "run_rows_per_second",
        "Latest rows per second of each stage of a running run",
        rates,
    );
    registry.register(
        "run_rss_bytes",
        "Latest resident memory of a running run",
        rss,
    );
    Ok(registry)
}
