//! The live stream of a run: the run record, then every new sample and log line as it is
//! stored, until the run finishes. New rows are noticed at once when they come through this
//! service, and within a second when another replica (sharing PostgreSQL) stored them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::broadcast;

use super::State;
use crate::entities::{log_line, metric_sample, run};
use crate::model::{LogEntry, MetricSample, Run, RunEvent, RunStatus};

/// Rows read per query while catching up.
const PAGE: u64 = 500;
/// How long to wait for a wake-up before looking anyway.
const POLL: Duration = Duration::from_secs(1);

struct Follow {
    state: State,
    run_id: Arc<str>,
    wake: broadcast::Receiver<Arc<str>>,
    last_sample: i64,
    last_log: i64,
    last_update: i64,
    pending: VecDeque<RunEvent>,
    finished: bool,
    /// The last look found a full page: look again at once (catching up), else wait.
    more: bool,
}

/// Events of `run`: its record, its samples and lines so far (a page at a time, as the client
/// reads them; left out without `history`), then the new ones as they come, until it finishes
/// (or the client goes away).
pub async fn events(
    state: State,
    run: run::Model,
    history: bool,
) -> Result<BoxStream<'static, RunEvent>, DbErr> {
    // Subscribed before the last ids are read: nothing stored after them goes unnoticed.
    let wake = state.changes.subscribe();
    let (last_sample, last_log) = if history {
        (0, 0)
    } else {
        (
            newest_id::<metric_sample::Entity>(
                &state,
                &run.id,
                metric_sample::Column::RunId,
                metric_sample::Column::Id,
            )
            .await?,
            newest_id::<log_line::Entity>(
                &state,
                &run.id,
                log_line::Column::RunId,
                log_line::Column::Id,
            )
            .await?,
        )
    };
    let follow = Follow {
        wake,
        state,
        run_id: Arc::from(run.id.as_str()),
        last_sample,
        last_log,
        last_update: run.updated_at_ms,
        pending: VecDeque::from([RunEvent::Run(Run::from(run.clone()))]),
        finished: false,
        more: true,
    };
    Ok(stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(event) = f.pending.pop_front() {
                return Some((event, f));
            }
            if f.finished {
                return None;
            }
            if !f.more {
                f.wait().await;
            }
            if let Err(e) = f.catch_up().await {
                tracing::warn!(run = %f.run_id, "live stream stopped: {e}");
                return None;
            }
        }
    })
    .boxed())
}

/// The largest `id` of `run_id`'s rows of `E` (0 when it has none).
async fn newest_id<E: EntityTrait>(
    state: &State,
    run_id: &str,
    run_column: E::Column,
    id: E::Column,
) -> Result<i64, DbErr> {
    let newest = E::find()
        .filter(run_column.eq(run_id))
        .select_only()
        .column_as(Expr::col(id).max(), "id")
        .into_tuple::<Option<i64>>()
        .one(&state.db)
        .await?;
    Ok(newest.flatten().unwrap_or(0))
}

impl Follow {
    /// Until this run has news, or a poll interval passed.
    async fn wait(&mut self) {
        let deadline = tokio::time::sleep(POLL);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                changed = self.wake.recv() => match changed {
                    Ok(id) if *id == *self.run_id => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    /// Queue a page of what was stored since the last look; the final run record once it
    /// finished and everything before it was sent.
    async fn catch_up(&mut self) -> Result<(), DbErr> {
        let db = &self.state.db;
        // Read the run first: rows stored before it finished are then all visible below.
        let run = run::Entity::find_by_id(self.run_id.to_string())
            .one(db)
            .await?;
        let Some(run) = run else {
            self.finished = true;
            return Ok(());
        };
        let samples = metric_sample::Entity::find()
            .filter(metric_sample::Column::RunId.eq(&*self.run_id))
            .filter(metric_sample::Column::Id.gt(self.last_sample))
            .order_by_asc(metric_sample::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let logs = log_line::Entity::find()
            .filter(log_line::Column::RunId.eq(&*self.run_id))
            .filter(log_line::Column::Id.gt(self.last_log))
            .order_by_asc(log_line::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        self.more = samples.len() as u64 == PAGE || logs.len() as u64 == PAGE;
        if let Some(last) = samples.last() {
            self.last_sample = last.id;
        }
        if let Some(last) = logs.last() {
            self.last_log = last.id;
        }
        self.pending.extend(
            samples
                .into_iter()
                .map(|s| RunEvent::Sample(MetricSample::from(s))),
        );
        self.pending
            .extend(logs.into_iter().map(|l| RunEvent::Log(LogEntry::from(l))));
        if self.more {
            return Ok(());
        }
        let finished = RunStatus::parse(&run.status).is_some_and(RunStatus::is_finished);
        if run.updated_at_ms != self.last_update || finished {
            self.last_update = run.updated_at_ms;
            self.pending.push_back(RunEvent::Run(Run::from(run)));
        }
        self.finished = finished;
        Ok(())
    }
}
