//! Stopping a run: the process signals (Ctrl-C, SIGTERM) that make its [`Shutdown`] requests.

use fastlane_connectors::ReplicationMode;
use tokio_util::sync::CancellationToken;

use crate::pipeline::Shutdown;

/// SIGINT and SIGTERM, listened for from the moment they are installed.
pub struct StopSignals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Listen from now on (install before anything could receive a signal, or the signal
    /// would end the process outright).
    pub fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// The next SIGINT or SIGTERM.
    pub async fn next(&mut self) {
        async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.interrupt) => {},
            _ = recv(&mut self.terminate) => {},
        }
    }

    /// A token cancelled by the next signal (to cut a wait short), listening from now on.
    pub fn next_as_token() -> CancellationToken {
        let token = CancellationToken::new();
        let mut signals = Self::install();
        let cancel = token.clone();
        tokio::spawn(async move {
            signals.next().await;
            cancel.cancel();
        });
        token
    }
}

/// Turn signals into `shutdown` requests until the returned guard is dropped. First
/// Ctrl-C/SIGTERM: stop the source and drain. Second: stop everything now. A FULL_TABLE run
/// keeps nothing of an unfinished run, so its first signal stops everything at once.
pub fn watch(shutdown: Shutdown, mode: ReplicationMode) -> SignalWatch {
    // Installed here, not in the task: a task is first polled only when an executor thread is
    // free, and until then a signal would kill the process outright.
    let mut signals = StopSignals::install();
    SignalWatch(tokio::spawn(async move {
        signals.next().await;
        if mode == ReplicationMode::FullTable {
            tracing::warn!("stop requested: a FULL_TABLE run keeps nothing of an unfinished run, so it stops now; the target stays as it was");
            shutdown.stop.cancel();
            shutdown.abort.cancel();
            return;
        }
        tracing::warn!("stop requested: finishing the batches in flight (again to stop at once)");
        shutdown.stop.cancel();
        signals.next().await;
        tracing::warn!("second stop request: stopping now");
        shutdown.abort.cancel();
    }))
}

/// The signal watcher of a run, stopped when dropped.
pub struct SignalWatch(tokio::task::JoinHandle<()>);

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}
