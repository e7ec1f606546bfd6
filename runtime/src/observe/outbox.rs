//! What every observer that ships data out shares: a bounded buffer the run pushes into
//! without waiting ([`Bounded`]), the count of what became of each item ([`Tally`]), the
//! buffer and its shipping task's signals together ([`Outbox`]), and the bounded wait at the
//! run's end ([`drain`]). The pauses between retries come from [`fastlane_connectors::retry`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which item a full [`Bounded`] gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// The oldest item makes room (metrics: the latest state matters most).
    DropOldest,
    /// The new item is refused (logs: the start of an incident matters most).
    DropNewest,
}

/// A FIFO bounded in items and in bytes that drops, and counts, what does not fit.
#[derive(Debug)]
pub struct Bounded<T> {
    items: VecDeque<T>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
    size: fn(&T) -> usize,
    overflow: Overflow,
    /// Items given up so far.
    pub dropped: u64,
}

impl<T> Bounded<T> {
    /// At most `max_items` items; `overflow` says which one goes when full.
    pub fn new(max_items: usize, overflow: Overflow) -> Self {
        Self {
            items: VecDeque::new(),
            bytes: 0,
            max_items: max_items.max(1),
            max_bytes: usize::MAX,
            size: |_| 0,
            overflow,
            dropped: 0,
        }
    }

    /// The same, also bounded to `max_bytes` as `size` counts an item.
    pub fn with_bytes(mut self, max_bytes: usize, size: fn(&T) -> usize) -> Self {
        self.max_bytes = max_bytes;
        self.size = size;
        self
    }

    /// Queue `item`, or drop one as the overflow rule says.
    pub fn push(&mut self, item: T) {
        let size = (self.size)(&item);
        while self.items.len() >= self.max_items || self.bytes.saturating_add(size) > self.max_bytes
        {
            self.dropped += 1;
            match self.overflow {
                Overflow::DropOldest if !self.items.is_empty() => self.pop_front(),
                _ => return,
            };
        }
        self.bytes += size;
        self.items.push_back(item);
    }

    fn pop_front(&mut self) -> Option<T> {
        let item = self.items.pop_front()?;
        self.bytes -= (self.size)(&item);
        Some(item)
    }

    /// Up to `n` items from the front.
    pub fn take(&mut self, n: usize) -> Vec<T> {
        let n = n.min(self.items.len());
        self.take_with(|items| items.drain(..n).collect())
    }

    /// The items `take` removes from the front of the queue (a call's worth, by the rules of
    /// the service they go to).
    pub fn take_with(&mut self, take: impl FnOnce(&mut VecDeque<T>) -> Vec<T>) -> Vec<T> {
        let taken = take(&mut self.items);
        let size = self.size;
        self.bytes -= taken.iter().map(size).sum::<usize>();
        taken
    }

    /// The first item.
    pub fn front(&self) -> Option<&T> {
        self.items.front()
    }

    /// Remove the first item.
    pub fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }

    /// Items queued.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Bytes queued, as `size` counts them.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Nothing queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Empty the buffer; how many items it held.
    pub fn clear(&mut self) -> u64 {
        let n = self.items.len() as u64;
        self.items.clear();
        self.bytes = 0;
        n
    }
}

/// What became of the items of an outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Taken by the receiving service.
    pub delivered: u64,
    /// Sent (or being sent) in the call under way.
    pub in_flight: u64,
    /// Refused by the service, or given up after retries.
    pub failed: u64,
    /// The last error met while shipping.
    pub last_error: Option<String>,
}

impl Tally {
    /// Settle the call under way: `refused` of its items were not taken, the rest were.
    pub fn settle(&mut self, refused: u64, error: Option<String>) {
        self.delivered += self.in_flight.saturating_sub(refused);
        self.failed += refused.min(self.in_flight);
        self.in_flight = 0;
        if error.is_some() {
            self.last_error = error;
        }
    }
}

/// A bounded buffer of items for one shipping task, with the count of what became of them and
/// the signals between the run (which pushes, never waiting) and the task (which ships).
pub struct Outbox<T> {
    state: Mutex<OutboxState<T>>,
    /// Wake the task at this many queued items (or bytes), not before: items gather.
    wake_at: (usize, usize),
    wake: Notify,
    finishing: AtomicBool,
}

/// An outbox's buffer and counts, under its lock.
pub struct OutboxState<T> {
    /// Items waiting.
    pub queue: Bounded<T>,
    /// What became of the others.
    pub tally: Tally,
    /// Nothing will ever be shipped (the task could not start): items pushed count as failed.
    pub closed: bool,
}

impl<T> OutboxState<T> {
    /// Take a call's worth with `take` and mark it in flight.
    pub fn take_call(&mut self, take: impl FnOnce(&mut VecDeque<T>) -> Vec<T>) -> Vec<T> {
        let call = self.queue.take_with(take);
        self.tally.in_flight = call.len() as u64;
        call
    }

    /// Items that never reached the service: dropped, failed, in flight or still queued.
    pub fn lost(&self) -> u64 {
        self.queue.dropped + self.tally.failed + self.tally.in_flight + self.queue.len() as u64
    }
}

impl<T> Outbox<T> {
    /// An outbox over `queue`, whose task is woken once `wake_at` items or bytes wait (and
    /// otherwise ships on its own clock).
    pub fn new(queue: Bounded<T>, wake_at: (usize, usize)) -> Self {
        Self {
            state: Mutex::new(OutboxState {
                queue,
                tally: Tally::default(),
                closed: false,
            }),
            wake_at,
            wake: Notify::new(),
            finishing: AtomicBool::new(false),
        }
    }

    /// The buffer and its counts. Nothing may log while holding it: a log line comes back as
    /// an event, and may be pushed here.
    pub fn lock(&self) -> MutexGuard<'_, OutboxState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue `item` (from the thread that emitted it: never waits on the network).
    pub fn push(&self, item: T) {
        let wake = {
            let mut state = self.lock();
            if state.closed {
                state.tally.failed += 1;
                return;
            }
            state.queue.push(item);
            state.queue.len() >= self.wake_at.0 || state.queue.bytes() >= self.wake_at.1
        };
        if wake {
            self.wake.notify_one();
        }
    }

    /// Whether a call's worth is waiting.
    pub fn call_waiting(&self) -> bool {
        let state = self.lock();
        state.queue.len() >= self.wake_at.0 || state.queue.bytes() >= self.wake_at.1
    }

    /// Nothing will be shipped: count everything queued (and everything to come) as failed.
    pub fn close(&self, error: String) {
        let mut state = self.lock();
        state.closed = true;
        let queued = state.queue.clear();
        state.tally.failed += queued;
        state.tally.last_error = Some(error);
    }

    /// The run is over: the task ships what is left, then ends.
    pub fn finish(&self) {
        self.finishing.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether the run is over. Read it before taking items: once it is set, every item is in.
    pub fn is_finishing(&self) -> bool {
        self.finishing.load(Ordering::Acquire)
    }

    /// Wait until `pause` is over or the task is woken (a call's worth, or the run's end).
    pub async fn wait(&self, pause: Duration) {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = self.wake.notified() => {}
        }
    }

    /// The task is woken (a call's worth, or the run's end); the pause of a retry ends early
    /// on it.
    pub async fn woken(&self) {
        self.wake.notified().await
    }
}

/// Wait for an observer's shipping `task` to end, at most `deadline` and no longer than
/// `give_up` (a Ctrl-C) allows; abort it when it did not end. Whether it ended.
pub async fn drain(
    task: &mut JoinHandle<()>,
    deadline: Duration,
    give_up: CancellationToken,
) -> bool {
    let ended = tokio::select! {
        joined = tokio::time::timeout(deadline, &mut *task) => joined.is_ok(),
        () = give_up.cancelled() => false,
    };
    if !ended {
        task.abort();
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buffer_drops_the_oldest_or_the_newest_and_counts_them() {
        let mut metrics = Bounded::new(3, Overflow::DropOldest);
        let mut logs = Bounded::new(3, Overflow::DropNewest);
        for i in 0..5 {
            metrics.push(i);
            logs.push(i);
        }
        assert_eq!((metrics.dropped, logs.dropped), (2, 2));
        assert_eq!(metrics.take(10), [2, 3, 4]);
        assert_eq!(logs.take(2), [0, 1]);
        assert_eq!(logs.take(10), [2]);
        assert_eq!(logs.len(), 0);
        logs.push(9);
        assert_eq!(logs.clear(), 1);
    }

    #[test]
    fn a_buffer_bounded_in_bytes_refuses_what_would_pass_its_size() {
        let mut lines = Bounded::new(100, Overflow::DropNewest).with_bytes(10, String::len);
        for line in ["abcd", "efgh", "ijkl", "m"] {
            lines.push(line.to_string());
        }
        assert_eq!((lines.len(), lines.bytes(), lines.dropped), (3, 9, 1));
        assert_eq!(
            lines.take_with(|q| q.drain(..2).collect()),
            ["abcd", "efgh"]
        );
        assert_eq!(lines.bytes(), 1);

        let mut samples = Bounded::new(100, Overflow::DropOldest).with_bytes(8, String::len);
        for sample in ["aaaa", "bbbb", "cccccc"] {
            samples.push(sample.to_string());
        }
        assert_eq!(samples.take(10), ["cccccc"]);
        assert_eq!(samples.dropped, 2);
        // Larger than the whole buffer: dropped whatever the rule.
        samples.push("x".repeat(9));
        assert!(samples.is_empty());
        assert_eq!(samples.dropped, 3);
    }

    #[test]
    fn an_outbox_counts_every_item_once() {
        let outbox = Outbox::new(Bounded::new(2, Overflow::DropNewest), (2, usize::MAX));
        outbox.push(1);
        assert!(!outbox.call_waiting());
        outbox.push(2);
        outbox.push(3);
        assert!(outbox.call_waiting());
        let mut state = outbox.lock();
        assert_eq!(state.take_call(|q| q.drain(..).collect()), [1, 2]);
        assert_eq!(state.lost(), 3);
        state.tally.settle(1, Some("refused one".into()));
        assert_eq!((state.tally.delivered, state.tally.failed), (1, 1));
        assert_eq!(state.lost(), 2);
        drop(state);
        outbox.close("gone".into());
        outbox.push(4);
        let state = outbox.lock();
        assert_eq!(state.lost(), 3);
        assert_eq!(state.tally.last_error.as_deref(), Some("gone"));
    }

    #[tokio::test]
    async fn draining_ends_at_the_deadline_or_when_given_up() {
        let mut quick = tokio::spawn(async {});
        assert!(drain(&mut quick, Duration::from_secs(5), CancellationToken::new()).await);
        let mut stuck = tokio::spawn(std::future::pending::<()>());
        assert!(
            !drain(
                &mut stuck,
                Duration::from_millis(20),
                CancellationToken::new()
            )
            .await
        );
        assert!(stuck.await.unwrap_err().is_cancelled());
        let give_up = CancellationToken::new();
        give_up.cancel();
        let mut stuck = tokio::spawn(std::future::pending::<()>());
        assert!(!drain(&mut stuck, Duration::from_secs(60), give_up).await);
    }
}
