//! A pool of ONNX Runtime sessions over one model. `Session::run` takes `&mut self` in ort rc.15, so each
//! concurrently predicting thread borrows its own session; sessions are created on demand up to a cap and
//! reused, so there is no global lock around inference.

use std::sync::{Condvar, Mutex};

use ort::session::Session;

use crate::error::Result;

pub(crate) struct Pool {
    state: Mutex<State>,
    freed: Condvar,
    max: usize,
}

struct State {
    idle: Vec<Session>,
    created: usize,
}

impl Pool {
    /// A pool holding `first` (the session the model was validated with), growing to at most `max`.
    pub fn new(first: Session, max: usize) -> Self {
        Pool {
            state: Mutex::new(State {
                idle: vec![first],
                created: 1,
            }),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    /// Runs `f` with exclusive use of one session, creating one with `make` if all are busy and the cap
    /// allows, else waiting for one to be returned.
    pub fn with<T>(
        &self,
        make: impl FnOnce() -> Result<Session>,
        f: impl FnOnce(&mut Session) -> T,
    ) -> Result<T> {
        // Return the session even if `f` panics, so the pool never loses one.
        struct Return<'p>(&'p Pool, Option<Session>);
        impl Drop for Return<'_> {
            fn drop(&mut self) {
                if let Some(s) = self.1.take() {
                    self.0.give_back(s);
                }
            }
        }
        let mut guard = Return(self, Some(self.take(make)?));
        let session = guard
            .1
            .as_mut()
            .ok_or_else(|| crate::Error::internal("pool guard lost its session"))?;
        Ok(f(session))
    }

    fn take(&self, make: impl FnOnce() -> Result<Session>) -> Result<Session> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(s) = state.idle.pop() {
                return Ok(s);
            }
            if state.created < self.max {
                state.created += 1;
                drop(state);
                return make().inspect_err(|_| {
                    self.state.lock().unwrap_or_else(|p| p.into_inner()).created -= 1;
                });
            }
            state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn give_back(&self, session: Session) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .idle
            .push(session);
        self.freed.notify_one();
    }

    /// Sessions created so far.
    pub fn created(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).created
    }
}
