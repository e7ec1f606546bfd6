//! Group commit for the hot writes: metric samples and log lines from many runners arrive as
//! many small requests; one writer task stores whatever has queued up in a single transaction
//! and answers each request once its rows are committed. A request is acknowledged only after
//! its rows are durable, and a bad request cannot fail its neighbours: a failed group is retried
//! request by request.

use std::time::Instant;

use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::entities::{log_line, metric_sample};
use crate::telemetry::Telemetry;

/// Rows of one request.
pub enum Rows {
    /// Metric samples.
    Samples(Vec<metric_sample::ActiveModel>),
    /// Log lines.
    Logs(Vec<log_line::ActiveModel>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Samples(r) => r.len(),
            Rows::Logs(r) => r.len(),
        }
    }
}

struct Job {
    rows: Rows,
    done: oneshot::Sender<Result<(), DbErr>>,
}

/// Requests waiting at most; past this a POST gets 503 instead of piling up memory.
const QUEUE_CAPACITY: usize = 4096;
/// Rows per commit at most.
const MAX_GROUP_ROWS: usize = 8192;
/// Rows per INSERT statement (SQLite allows 32 766 bound values; a sample has 14 columns).
const ROWS_PER_STATEMENT: usize = 1000;

/// The handle requests use to store rows.
#[derive(Clone)]
pub struct Ingest {
    jobs: mpsc::Sender<Job>,
}

/// Why rows were not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Too many requests are waiting.
    #[error("the write queue is full ({QUEUE_CAPACITY} requests waiting); retry later")]
    Busy,
    /// The writer task is gone (the service is shutting down).
    #[error("the service is shutting down")]
    Closed,
    /// The database refused the rows.
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl Ingest {
    /// Start the writer task on `db`.
    pub fn start(db: DatabaseConnection, telemetry: Telemetry) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(writer(db, rx, telemetry));
        Ingest { jobs }
    }

    /// Store `rows`; returns once they are committed.
    pub async fn store(&self, rows: Rows) -> Result<(), IngestError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .try_send(Job { rows, done })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => IngestError::Busy,
                mpsc::error::TrySendError::Closed(_) => IngestError::Closed,
            })?;
        match wait.await {
            Ok(result) => result.map_err(IngestError::Db),
            Err(_) => Err(IngestError::Closed),
        }
    }
}

async fn writer(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>, telemetry: Telemetry) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        let mut rows = group[0].rows.len();
        while rows < MAX_GROUP_ROWS {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.rows.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        match commit(&db, group.iter().map(|j| &j.rows)).await {
            Ok(()) => {
                telemetry.record_commit(group.len(), rows, started.elapsed());
                for job in group {
                    let _ = job.done.send(Ok(()));
                }
            }
            // A constraint error (a run deleted meanwhile, say) belongs to one request: it must
            // not fail the others. A connection error fails them all at once.
            Err(e) if group.len() > 1 && e.sql_err().is_some() => {
                for job in group {
                    let result = commit(&db, std::iter::once(&job.rows)).await;
                    if result.is_ok() {
                        telemetry.record_commit(1, job.rows.len(), started.elapsed());
                    }
                    let _ = job.done.send(result);
                }
            }
            Err(e) => {
                for job in group {
                    let _ = job.done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Insert every group's rows in one transaction.
async fn commit<'a>(
    db: &DatabaseConnection,
    groups: impl Iterator<Item = &'a Rows>,
) -> Result<(), DbErr> {
    let mut samples = Vec::new();
    let mut logs = Vec::new();
    for rows in groups {
        match rows {
            Rows::Samples(r) => samples.extend(r.iter().cloned()),
            Rows::Logs(r) => logs.extend(r.iter().cloned()),
        }
    }
    let txn = db.begin().await?;
    // Rows already stored (a request retried after its answer was lost) are skipped.
    for chunk in samples.chunks(ROWS_PER_STATEMENT) {
        metric_sample::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([metric_sample::Column::RunId, metric_sample::Column::AtMs])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in logs.chunks(ROWS_PER_STATEMENT) {
        log_line::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([log_line::Column::RunId, log_line::Column::Seq])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await
}
