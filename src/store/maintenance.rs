//! The optional maintenance thread: every interval it deletes expired records
//! (`expire_ttl_records`) and then runs `maybe_compact`.
//!
//! It is started only when the host asks ([`Maintenance::start`]), and it is one thread per store.
//! It holds only a weak reference to the store between runs, so it never keeps a store alive; a
//! stop (or dropping the [`Maintenance`]) wakes it through a condition variable and joins it, waiting
//! at most for the run in progress. Errors are counted and the last one kept in the status; they
//! never end the thread, and a panic inside a run is caught and reported the same way.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::Store;
use crate::error::{Code, Error, Result};

/// Shortest interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// What the maintenance thread has done so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaintenanceStatus {
    pub interval_ms: u64,
    /// Completed runs (successful or not).
    pub runs: u64,
    /// Records deleted by `expire_ttl_records`, summed over all runs.
    pub expired: u64,
    /// Runs in which `maybe_compact` compacted.
    pub compactions: u64,
    /// Records removed by those compactions (their `removed_count`), summed.
    pub removed: u64,
    /// Runs that failed.
    pub errors: u64,
    /// The message of the last failure, if any.
    pub last_error: Option<String>,
}

struct Shared {
    stop: Mutex<bool>,
    wake: Condvar,
    status: Mutex<MaintenanceStatus>,
}

/// A running maintenance thread. Stop it with [`Maintenance::stop`]; dropping it stops it too.
pub struct Maintenance {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maintenance").field("status", &self.status()).finish_non_exhaustive()
    }
}

/// One maintenance run: expiry, then `maybe_compact`. Returns (expired, compacted, removed).
pub fn run_once(store: &Store) -> Result<(u64, bool, u64)> {
    let expired = store.expire_ttl_records()?;
    // The run's outcome is its error: say what its expiry did (the status counts only whole runs).
    let r = store.maybe_compact().map_err(|e| {
        if expired == 0 {
            e
        } else {
            Error::new(e.code, format!("{} (after deleting {expired} expired records)", e.message))
        }
    })?;
    Ok((expired, r.triggered, r.removed_count))
}

impl Maintenance {
    /// Starts the thread for `store`, running every `interval` (the first run one interval from
    /// now). `InvalidArgument` for an interval below 1 ms; `Io` if the thread cannot be started.
    pub fn start(store: &Arc<Store>, interval: Duration) -> Result<Maintenance> {
        let weak = Arc::downgrade(store);
        Maintenance::start_with(interval, move || weak.upgrade().map(|store| run_once(&store)))
    }

    /// Like [`Maintenance::start`] with the run given as a closure: it returns `None` when its
    /// target is gone (the thread then ends), otherwise the run's outcome (expired, compacted,
    /// removed). For stores reached through something else, such as a namespace's checks.
    pub fn start_with(
        interval: Duration,
        work: impl FnMut() -> Option<Result<(u64, bool, u64)>> + Send + 'static,
    ) -> Result<Maintenance> {
        if interval < MIN_INTERVAL {
            return Err(Error::invalid(format!(
                "the maintenance interval must be at least 1 ms, got {interval:?}"
            )));
        }
        let shared = Arc::new(Shared {
            stop: Mutex::new(false),
            wake: Condvar::new(),
            status: Mutex::new(MaintenanceStatus {
                interval_ms: interval.as_millis().min(u64::MAX as u128) as u64,
                ..MaintenanceStatus::default()
            }),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vecstore-maintenance".to_string())
            .spawn(move || run(work, thread_shared, interval))
            .map_err(|e| Error::new(Code::Io, format!("cannot start the maintenance thread: {e}")))?;
        Ok(Maintenance { shared, thread: Some(thread) })
    }

    /// A copy of the thread's counters.
    pub fn status(&self) -> MaintenanceStatus {
        self.shared.status.lock().clone()
    }

    /// Stops the thread and waits for it (at most the run in progress); returns its final status.
    pub fn stop(mut self) -> MaintenanceStatus {
        self.halt();
        self.status()
    }

    fn halt(&mut self) {
        *self.shared.stop.lock() = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            // The thread catches panics in its runs, so join only fails on a bug outside them.
            let _ = t.join();
        }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(mut work: impl FnMut() -> Option<Result<(u64, bool, u64)>>, shared: Arc<Shared>, interval: Duration) {
    loop {
        {
            let deadline = Instant::now() + interval;
            let mut stop = shared.stop.lock();
            while !*stop {
                if shared.wake.wait_until(&mut stop, deadline).timed_out() {
                    break;
                }
            }
            if *stop {
                return;
            }
        }
        // The store is gone when its last owner dropped it: nothing left to maintain.
        let outcome = match catch_unwind(AssertUnwindSafe(&mut work)) {
            Ok(None) => return,
            Ok(Some(outcome)) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Err(Error::new(
                    Code::Internal,
                    format!("internal error in maintenance (please report): {what}"),
                ))
            }
        };
        let mut st = shared.status.lock();
        st.runs += 1;
        match outcome {
            Ok((expired, compacted, removed)) => {
                st.expired += expired;
                st.compactions += u64::from(compacted);
                st.removed += removed;
            }
            Err(e) => {
                st.errors += 1;
                st.last_error = Some(e.message);
            }
        }
    }
}

#[cfg(test)]
mod tests;
