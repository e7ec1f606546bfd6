//! What the delivery task has to deliver to the monitoring API, in the order it goes: run
//! fields, samples and log lines in [`Bounded`] buffers the run pushes into without waiting,
//! the final update last; and the count of what became of every report.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::{lock, merge, Delivery, LogLine, MetricSample, RunUpdate};
use crate::observe::outbox::{Bounded, Overflow};

/// Most items in one metrics or logs POST (the API takes up to 1000).
pub(super) const BATCH_ITEMS: usize = 500;
/// Metric samples kept while the API cannot take them; the oldest go first.
pub(super) const METRICS_CAPACITY: usize = 10_000;
/// Log lines kept while the API cannot take them; the newest are refused.
pub(super) const LOGS_CAPACITY: usize = 10_000;

/// What the delivery task has to deliver, and what became of the rest.
pub(super) struct Outbox {
    pub(super) metrics: Bounded<MetricSample>,
    pub(super) logs: Bounded<LogLine>,
    /// Run fields waiting to be sent, merged.
    pub(super) update: Option<RunUpdate>,
    /// The final update, sent once everything before it is.
    pub(super) last: Option<RunUpdate>,
    /// Items taken by the delivery task and not settled yet.
    pub(super) in_flight: u64,
    pub(super) delivered: u64,
    /// Items the API refused (or that arrived after it refused the registration).
    pub(super) refused: u64,
    pub(super) pipeline_registered: bool,
    pub(super) run_created: bool,
    /// The API refused the registration: nothing can be delivered any more.
    pub(super) closed: bool,
    pub(super) last_error: Option<String>,
    /// The number the next log line gets.
    pub(super) next_seq: i64,
}

impl Default for Outbox {
    fn default() -> Self {
        Self {
            metrics: Bounded::new(METRICS_CAPACITY, Overflow::DropOldest),
            logs: Bounded::new(LOGS_CAPACITY, Overflow::DropNewest),
            update: None,
            last: None,
            in_flight: 0,
            delivered: 0,
            refused: 0,
            pipeline_registered: false,
            run_created: false,
            next_seq: 0,
            closed: false,
            last_error: None,
        }
    }
}

/// One delivery: a POST or PATCH of the run.
#[derive(Debug)]
pub(super) enum Item {
    /// Run fields known during the run (PATCH).
    Update(Box<RunUpdate>),
    /// Up to [`BATCH_ITEMS`] samples (POST).
    Metrics(Vec<MetricSample>),
    /// Up to [`BATCH_ITEMS`] log lines (POST).
    Logs(Vec<LogLine>),
    /// The final status and counts (PATCH), always last.
    Last(Box<RunUpdate>),
}

impl Item {
    /// How many reports it carries.
    pub(super) fn count(&self) -> u64 {
        match self {
            Item::Update(_) | Item::Last(_) => 1,
            Item::Metrics(v) => v.len() as u64,
            Item::Logs(v) => v.len() as u64,
        }
    }
}

impl Outbox {
    /// The next item in delivery order; the final update only once nothing else is left.
    pub(super) fn next_item(&mut self) -> Option<Item> {
        let item = if let Some(update) = self.update.take() {
            Item::Update(Box::new(update))
        } else if !self.metrics.is_empty() {
            Item::Metrics(self.metrics.take(BATCH_ITEMS))
        } else if !self.logs.is_empty() {
            Item::Logs(self.logs.take(BATCH_ITEMS))
        } else {
            Item::Last(Box::new(self.last.take()?))
        };
        self.in_flight = item.count();
        Some(item)
    }

    pub(super) fn settle(&mut self, delivered: bool) {
        if delivered {
            self.delivered += self.in_flight;
        } else {
            self.refused += self.in_flight;
        }
        self.in_flight = 0;
    }

    pub(super) fn delivery(&self) -> Delivery {
        let queued = self.metrics.len() as u64
            + self.logs.len() as u64
            + u64::from(self.update.is_some())
            + u64::from(self.last.is_some());
        let registration = u64::from(!self.pipeline_registered) + u64::from(!self.run_created);
        Delivery {
            delivered: self.delivered,
            undelivered: self.refused + self.in_flight + queued + registration,
            dropped: self.metrics.dropped + self.logs.dropped,
            last_error: self.last_error.clone(),
        }
    }
}

/// The state producers and the delivery task share.
#[derive(Default)]
pub(super) struct Shared {
    outbox: Mutex<Outbox>,
    /// Something was queued.
    pub(super) wake: Notify,
    /// The run is over: stop waiting out a long backoff.
    pub(super) finishing: Notify,
}

impl Shared {
    // Nothing here may log while holding the lock: the log tap would push into this outbox.
    pub(super) fn lock(&self) -> MutexGuard<'_, Outbox> {
        lock(&self.outbox)
    }

    pub(super) fn push_metric(&self, sample: MetricSample) {
        self.push(|o| o.metrics.push(sample));
    }

    /// Queue a line, numbered in the order lines arrive (the API stores a re-sent line once).
    pub(super) fn push_log(&self, mut line: LogLine) {
        self.push(|o| {
            line.seq = Some(o.next_seq);
            o.next_seq += 1;
            o.logs.push(line);
        });
    }

    pub(super) fn push_update(&self, update: RunUpdate) {
        self.push(|o| {
            o.update = Some(match o.update.take() {
                Some(pending) => merge(pending, update),
                None => update,
            })
        });
    }

    /// Queue the final update (with any update not sent yet folded in).
    pub(super) fn push_last(&self, last: RunUpdate) {
        self.push(|o| {
            o.last = Some(match o.update.take() {
                Some(pending) => merge(pending, last),
                None => last,
            })
        });
        self.finishing.notify_one();
    }

    fn push(&self, put: impl FnOnce(&mut Outbox)) {
        {
            let mut outbox = self.lock();
            if outbox.closed {
                outbox.refused += 1;
                return;
            }
            put(&mut outbox);
        }
        self.wake.notify_one();
    }

    pub(super) fn note_error(&self, error: &str) {
        self.lock().last_error = Some(error.to_string());
    }

    pub(super) fn delivery(&self) -> Delivery {
        self.lock().delivery()
    }
}
