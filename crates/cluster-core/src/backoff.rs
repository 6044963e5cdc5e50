//! Failure isolation for one server. After it refused a connection or let a call time out,
//! calls to it fail at once for `BACKOFF` instead of each waiting for a connect or read
//! timeout; then one call probes it (the others keep failing fast) and the first exchange
//! that completes ends the back-off. Other servers are never involved: a key's node is fixed
//! by the placement contract, so nothing is re-routed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::NodeConfig;
use crate::connection::Connection;
use crate::resp::pack_command;

/// How long calls to a failed server fail at once before it is tried again.
pub const BACKOFF: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Backoff {
    /// Checked on every call; the lock below is only taken while a server is down.
    active: AtomicBool,
    state: Mutex<State>,
    /// A liveness check is running (one at a time).
    checking: AtomicBool,
}

#[derive(Default)]
struct State {
    until: Option<Instant>,
    cause: String,
}

impl Backoff {
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// `None`: go ahead (the server is up, or this caller is the one that probes it after the
    /// back-off). `Some(reason)`: fail now with that reason.
    pub fn refuse(&self) -> Option<String> {
        if !self.is_active() {
            return None;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = state.until?;
        let now = Instant::now();
        if now < until {
            return Some(format!(
                "down after {}; calls fail at once for {:.1}s more",
                state.cause,
                (until - now).as_secs_f64()
            ));
        }
        // This caller probes; the others keep failing fast until it knows.
        state.until = Some(now + BACKOFF);
        None
    }

    /// The server failed: back off from now on.
    pub fn start(&self, cause: &redis::RedisError) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.until = Some(Instant::now() + BACKOFF);
        state.cause = cause.to_string();
        self.active.store(true, Ordering::Release);
    }

    /// After a call timed out: in the background, PING the server on a new connection within
    /// its read timeout and back off if it does not answer.
    pub fn check_liveness(self: &Arc<Self>, node: &NodeConfig) {
        if self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut config = node.clone();
        config.connect_timeout = match (config.connect_timeout, config.read_timeout) {
            (Some(connect), Some(read)) => Some(connect.min(read)),
            (connect, read) => connect.or(read),
        };
        // Never wait forever: the liveness thread must end.
        config.read_timeout = config.connect_timeout;
        let backoff = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name("rediscluster-liveness".to_owned())
            .spawn(move || {
                if let Err(error) = ping(&config) {
                    backoff.start(&error);
                }
                backoff.checking.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.checking.store(false, Ordering::Release);
        }
    }

    /// An exchange completed: the server is up.
    pub fn clear(&self) {
        if self.is_active() {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.until = None;
            self.active.store(false, Ordering::Release);
        }
    }
}

/// One PING on a new connection (the connection's timeouts bound it).
fn ping(config: &NodeConfig) -> redis::RedisResult<()> {
    let mut connection = Connection::open(config)?;
    let mut packed = Vec::new();
    pack_command(&["PING"], &[], &mut packed);
    connection.send(&packed)?;
    // Any reply, an error reply (LOADING, ...) included, means the server is alive.
    connection.receive()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> redis::RedisError {
        std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into()
    }

    #[test]
    fn fails_fast_then_lets_one_probe_through() {
        let backoff = Backoff::default();
        assert_eq!(backoff.refuse(), None);
        backoff.start(&refused());
        let reason = backoff.refuse().expect("backed off");
        assert!(reason.contains("refused"), "{reason}");
        // Pretend the period is over: exactly one caller probes.
        backoff.state.lock().unwrap().until = Some(Instant::now());
        assert_eq!(backoff.refuse(), None);
        assert!(backoff.refuse().is_some());
        backoff.clear();
        assert_eq!(backoff.refuse(), None);
        assert!(!backoff.is_active());
    }
}
