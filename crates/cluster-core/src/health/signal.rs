//! Wakes a client's checker thread before its interval is up: to check at once after a
//! replica failed a read (it may be gone, or a new one may have taken its place), and to end
//! as soon as the client is dropped (PHP builds a client per request; their threads must not
//! pile up).

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Signal {
    state: Mutex<Signals>,
    wake: Condvar,
}

#[derive(Default)]
struct Signals {
    stopped: bool,
    check_now: bool,
}

impl Signal {
    /// Waits up to `interval` or until woken; true once the client is gone.
    pub fn wait(&self, interval: Duration) -> bool {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (mut state, _) = self
            .wake
            .wait_timeout_while(state, interval, |s| !s.stopped && !s.check_now)
            .unwrap_or_else(|p| p.into_inner());
        state.check_now = false;
        state.stopped
    }

    /// Check now rather than at the next interval.
    pub fn check_now(&self) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check_now = true;
        self.wake.notify_all();
    }

    pub fn stop(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).stopped = true;
        self.wake.notify_all();
    }
}
