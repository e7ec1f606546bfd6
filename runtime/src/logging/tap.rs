//! A tracing layer that hands the process's log events (info and above) to the sinks attached
//! to it: a [`Run`](crate::run::Run) attaches one while it lasts and tells its observers each
//! line as a [`RunEvent::Log`](crate::run::RunEvent::Log). Several sinks may be attached at
//! once; each gets every event.
//!
//! The layer is installed by [`crate::logging::init`] whether or not a sink exists; until one is
//! attached it costs one atomic load per event. It never blocks on the network: a sink only
//! pushes into a bounded buffer.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Longest message forwarded, in bytes; a longer one is cut at a char boundary and marked.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// Events from targets starting with these are not forwarded: a sink's own complaints about its
/// service (and those of its HTTP and AWS stacks) would otherwise feed back into what it delivers.
/// They still reach stderr and the log file.
const SKIPPED_TARGETS: &[&str] = &[
    "fastlane::observe",
    "fastlane::logging::cloudwatch",
    "fastlane::logging::slack",
    "reqwest",
    "hyper",
    "h2",
    "rustls",
    // aws_config, aws_sdk_*, aws_smithy_*, aws_sigv4, aws_runtime...
    "aws_",
];

/// Events of this module carrying a `transform` field are the guest's own lines.
const GUEST_TARGET: &str = "fastlane::wasm";

/// One log event, as handed to the sinks.
#[derive(Clone, Debug)]
pub struct TappedEvent {
    /// When the event happened.
    pub at: DateTime<Utc>,
    /// Its level.
    pub level: Level,
    /// `fastlane`, or `transform:<name>` for a line logged by the guest transform.
    pub origin: String,
    /// The message, followed by the event's other fields as `key=value`.
    pub message: String,
}

type Sink = Arc<dyn Fn(TappedEvent) + Send + Sync>;
/// Attached sinks with their attachment ids.
type Sinks = Vec<(u64, Sink)>;

/// The attached sinks. Replaced whole on attach and detach, so that an event only clones the
/// `Arc` and calls the sinks without holding the lock.
static SINKS: RwLock<Option<Arc<Sinks>>> = RwLock::new(None);
static ATTACHED: AtomicBool = AtomicBool::new(false);
static NEXT_ATTACHMENT: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Set while this thread is inside a sink: an event raised from there is not forwarded.
    static FORWARDING: Cell<bool> = const { Cell::new(false) };
}

/// Forward every event from now on to `sink` (besides the sinks already attached), until the
/// returned [`Attachment`] is dropped. The sink must not block (it runs on the thread that
/// logged) and should not log.
pub fn attach(sink: impl Fn(TappedEvent) + Send + Sync + 'static) -> Attachment {
    let id = NEXT_ATTACHMENT.fetch_add(1, Ordering::Relaxed);
    update_sinks(|sinks| sinks.push((id, Arc::new(sink))));
    Attachment { id }
}

/// Keeps a sink attached; dropping it detaches that sink (the others stay).
#[derive(Debug)]
pub struct Attachment {
    id: u64,
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let id = self.id;
        update_sinks(|sinks| sinks.retain(|(attached, _)| *attached != id));
    }
}

/// Replace the list of sinks by `change` applied to a copy of it.
fn update_sinks(change: impl FnOnce(&mut Sinks)) {
    let mut slot = SINKS.write().unwrap_or_else(|e| e.into_inner());
    let mut sinks: Sinks = slot.as_deref().cloned().unwrap_or_default();
    change(&mut sinks);
    ATTACHED.store(!sinks.is_empty(), Ordering::Release);
    *slot = (!sinks.is_empty()).then(|| Arc::new(sinks));
}

/// The layer: formats each event and hands it to every attached sink.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogTap;

impl<S: Subscriber> Layer<S> for LogTap {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !ATTACHED.load(Ordering::Acquire) {
            return;
        }
        let meta = event.metadata();
        if SKIPPED_TARGETS.iter().any(|t| meta.target().starts_with(t)) {
            return;
        }
        // `try_with`: a thread being torn down has no thread-locals left; skip rather than panic.
        let entered = FORWARDING.try_with(|f| !f.replace(true)).unwrap_or(false);
        if !entered {
            return;
        }
        let sinks = SINKS.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(sinks) = sinks {
            let mut fields = Fields::default();
            event.record(&mut fields);
            let tapped = fields.into_event(*meta.level(), meta.target());
            if let Some(((_, last), others)) = sinks.split_last() {
                for (_, sink) in others {
                    sink(tapped.clone());
                }
                last(tapped);
            }
        }
        let _ = FORWARDING.try_with(|f| f.set(false));
    }
}

/// An event's fields: its message, the `transform` it names, the rest as `key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    transform: Option<String>,
    others: String,
}

impl Fields {
    fn other(&mut self, name: &str, value: fmt::Arguments<'_>) {
        if !self.others.is_empty() {
            self.others.push(' ');
        }
        let _ = write!(self.others, "{name}={value}");
    }

    fn into_event(mut self, level: Level, target: &str) -> TappedEvent {
        let origin = match self.transform.take() {
            Some(name) if target.starts_with(GUEST_TARGET) => format!("transform:{name}"),
            Some(name) => {
                self.other("transform", format_args!("{name}"));
                "fastlane".to_string()
            }
            None => "fastlane".to_string(),
        };
        let mut message = self.message;
        if !self.others.is_empty() {
            if !message.is_empty() {
                message.push(' ');
            }
            message.push_str(&self.others);
        }
        TappedEvent {
            at: Utc::now(),
            level,
            origin,
            message: truncate(message, MAX_MESSAGE_BYTES),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "transform" => self.transform = Some(value.to_string()),
            name if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c == '"') => {
                self.other(name, format_args!("{value:?}"))
            }
            name => self.other(name, format_args!("{value}")),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "transform" => self.transform = Some(format!("{value:?}")),
            name => self.other(name, format_args!("{value:?}")),
        }
    }
}

/// `text` cut to at most `max` bytes (at a char boundary), marked with `…` when cut.
pub(crate) fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let cut = truncate("é".repeat(10), 9);
        assert!(cut.len() <= 9, "{cut}");
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short".into(), 9), "short");
    }

    #[test]
    fn guest_lines_take_the_transform_as_origin_and_host_lines_keep_it_as_a_field() {
        let fields = || Fields {
            message: "hello".into(),
            transform: Some("mask".into()),
            others: "rows=3".into(),
        };
        let guest = fields().into_event(Level::INFO, "fastlane::wasm::instance");
        assert_eq!(guest.origin, "transform:mask");
        assert_eq!(guest.message, "hello rows=3");
        let host = fields().into_event(Level::WARN, "fastlane::cli::run");
        assert_eq!(host.origin, "fastlane");
        assert_eq!(host.message, "hello rows=3 transform=mask");
    }

    #[test]
    fn every_attached_sink_gets_each_event_until_it_is_detached() {
        use std::sync::Mutex;
        use tracing_subscriber::layer::SubscriberExt;

        // Other tests may log (and attach) at the same time: look only for this test's lines.
        let seen = |sink: &Arc<Mutex<Vec<String>>>| -> Vec<String> {
            let lines = sink.lock().unwrap();
            lines
                .iter()
                .filter(|m| m.starts_with("tap-test"))
                .cloned()
                .collect()
        };
        let (first, second) = (Arc::default(), Arc::default());
        let keep = |into: &Arc<Mutex<Vec<String>>>| {
            let into = Arc::clone(into);
            move |e: TappedEvent| into.lock().unwrap().push(e.message)
        };
        let subscriber = tracing_subscriber::registry().with(LogTap);
        tracing::subscriber::with_default(subscriber, || {
            let a = attach(keep(&first));
            let b = attach(keep(&second));
            tracing::info!("tap-test one");
            drop(a);
            tracing::info!("tap-test two");
            // A sink's own module is never forwarded.
            tracing::info!(target: "fastlane::logging::slack", "tap-test skipped");
            tracing::info!(target: "aws_smithy_runtime::client", "tap-test skipped");
            drop(b);
            tracing::info!("tap-test three");
        });
        assert_eq!(seen(&first), ["tap-test one"]);
        assert_eq!(seen(&second), ["tap-test one", "tap-test two"]);
    }
}
