//! A time limit for a prediction that holds inside a network evaluation too. Between evaluations the
//! engine can stop on its own; inside one, only ONNX Runtime can — a hostile or broken model (a Loop with
//! 2^62 iterations) would otherwise hold the caller for ever. A watchdog thread sets ONNX Runtime's
//! terminate flag on the run options every evaluation of the prediction runs with, once the limit passes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ort::session::RunOptions;

use crate::error::{Error, ErrorKind, Result};

/// Shared between the predicting thread and the watchdog.
struct Shared {
    options: RunOptions,
    expired: AtomicBool,
    done: Mutex<bool>,
    wake: Condvar,
}

/// A running time limit; dropping it stops the watchdog.
pub(crate) struct Deadline {
    shared: Arc<Shared>,
    limit: Duration,
    start: Instant,
    watchdog: Option<JoinHandle<()>>,
}

impl Deadline {
    /// Starts the clock and the watchdog thread.
    pub fn start(limit: Duration) -> Result<Deadline> {
        let options = RunOptions::new().map_err(|e| {
            Error::internal(format!("ONNX Runtime could not create run options: {e}"))
        })?;
        let shared = Arc::new(Shared {
            options,
            expired: AtomicBool::new(false),
            done: Mutex::new(false),
            wake: Condvar::new(),
        });
        let start = Instant::now();
        let watched = Arc::clone(&shared);
        let watchdog = std::thread::Builder::new()
            .name("dgmf-deadline".into())
            .spawn(move || {
                let mut done = watched.done.lock().unwrap_or_else(|p| p.into_inner());
                while !*done {
                    let left = limit.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        watched.expired.store(true, Ordering::SeqCst);
                        // Nothing more can be done if this fails; the run then ends at the next check.
                        let _ = watched.options.terminate();
                        return;
                    }
                    done = watched
                        .wake
                        .wait_timeout(done, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the time-limit thread: {e}")))?;
        Ok(Deadline {
            shared,
            limit,
            start,
            watchdog: Some(watchdog),
        })
    }

    /// The run options every network evaluation of the prediction must use.
    pub fn run_options(&self) -> &RunOptions {
        &self.shared.options
    }

    /// Whether the limit has passed (checked between evaluations).
    pub fn expired(&self) -> bool {
        self.shared.expired.load(Ordering::SeqCst) || self.start.elapsed() >= self.limit
    }

    /// The error a prediction stopped by the limit returns.
    pub fn error(&self) -> Error {
        Error::new(
            ErrorKind::Cancelled,
            format!(
                "the prediction was stopped at its time limit of {:.3} s (after {:.3} s); raise the limit \
                 (Request::time_limit, dgmf_config_set_time_limit, --time-limit) or lower the cost",
                self.limit.as_secs_f64(),
                self.start.elapsed().as_secs_f64()
            ),
        )
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        *self.shared.done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
    }
}
