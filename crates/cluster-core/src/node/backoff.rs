//! Failure isolation for one server. Once it refused a connection, or a call to it timed out
//! and it then failed to answer a PING, calls to it fail at once (naming the node and the
//! cause) instead of each waiting for a connect or read timeout. A background watcher PINGs
//! it every `BACKOFF` on a new connection and lets calls through again as soon as it answers,
//! so no caller ever spends its own timeout finding out. Other servers are never involved: a
//! key's node is fixed by the placement contract, so nothing is re-routed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::Duration;

use super::connection::Connection;
use crate::config::NodeConfig;
use crate::wire::request::pack_command;

/// How often a server that is down is checked again.
pub const BACKOFF: Duration = Duration::from_secs(1);

pub struct Backoff {
    /// The node's settings for PINGs, with every wait bounded.
    ping_config: NodeConfig,
    /// Checked on every call; the lock below is only taken while the server is down.
    down: AtomicBool,
    cause: Mutex<String>,
    /// A PING is in flight or the watcher runs (one at a time).
    checking: AtomicBool,
}

impl Backoff {
    pub fn new(node: &NodeConfig) -> Backoff {
        let mut ping_config = node.clone();
        // Never wait forever, connecting or for the reply: the checking thread must end.
        ping_config.connect_timeout = node.connect_phase_timeout();
        ping_config.read_timeout = ping_config.connect_timeout;
        Backoff {
            ping_config,
            down: AtomicBool::new(false),
            cause: Mutex::new(String::new()),
            checking: AtomicBool::new(false),
        }
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// `None`: go ahead. `Some(reason)`: the server is down; fail now with that reason.
    pub fn refuse(&self) -> Option<String> {
        if !self.is_down() {
            return None;
        }
        let cause = self.cause.lock().unwrap_or_else(|p| p.into_inner());
        Some(format!(
            "down after {cause}; calls fail at once until it answers a PING (checked every {:.1}s)",
            BACKOFF.as_secs_f64()
        ))
    }

    /// The server is down: fail calls at once and watch for its return.
    pub fn start(self: &Arc<Self>, cause: &redis::RedisError) {
        self.mark_down(cause);
        self.spawn_checker(true);
    }

    fn mark_down(&self, cause: &redis::RedisError) {
        *self.cause.lock().unwrap_or_else(|p| p.into_inner()) = describe(cause);
        self.down.store(true, Ordering::Release);
    }

    /// A call timed out: PING the server in the background (within its timeouts), without
    /// holding up the caller; if it does not answer, it is down. A command that merely ran
    /// longer than the read timeout (a long BLPOP) leaves the server up.
    pub fn check_liveness(self: &Arc<Self>) {
        if !self.is_down() {
            self.spawn_checker(false);
        }
    }

    /// An exchange completed: the server is up.
    pub fn clear(&self) {
        if self.is_down() {
            self.down.store(false, Ordering::Release);
        }
    }

    /// One checking thread at a time: a single PING (`watch` false), or PINGs every
    /// `BACKOFF` until the server answers (`watch` true). It holds the back-off weakly, so it
    /// ends when the client is dropped.
    fn spawn_checker(self: &Arc<Self>, watch: bool) {
        if self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Backoff> = Arc::downgrade(self);
        let config = self.ping_config.clone();
        let spawned = thread::Builder::new()
            .name("rediscluster-node-check".to_owned())
            .spawn(move || {
                let mut pause = watch;
                loop {
                    if pause {
                        thread::sleep(BACKOFF);
                    }
                    pause = true;
                    let result = ping(&config);
                    let Some(backoff) = weak.upgrade() else {
                        return;
                    };
                    match result {
                        Ok(()) => {
                            // Released before clearing: a failure right after must be able to
                            // start a new watcher, or the node could stay down for good.
                            backoff.checking.store(false, Ordering::Release);
                            backoff.clear();
                            return;
                        }
                        Err(error) => backoff.mark_down(&error),
                    }
                }
            });
        if spawned.is_err() {
            self.checking.store(false, Ordering::Release);
        }
    }
}

/// The cause as an error message shows it ("Resource temporarily unavailable" is how the OS
/// reports a read timeout: say what it means).
fn describe(error: &redis::RedisError) -> String {
    if error.is_timeout() {
        "no answer within the timeout".to_owned()
    } else {
        error.to_string()
    }
}

/// One PING on a new connection (the connection's timeouts bound it). Any reply, an error
/// reply (LOADING, NOAUTH) included, means the server is alive.
fn ping(config: &NodeConfig) -> redis::RedisResult<()> {
    let mut connection = Connection::open(config)?;
    let mut packed = Vec::new();
    pack_command(&["PING"], &[], &mut packed);
    connection.send(&packed)?;
    connection.receive()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Instant;

    fn config_for(port: u16) -> NodeConfig {
        NodeConfig {
            name: "node_1".to_owned(),
            host: "127.0.0.1".to_owned(),
            port,
            db: 0,
            username: None,
            password: None,
            connect_timeout: Some(Duration::from_millis(200)),
            read_timeout: Some(Duration::from_millis(200)),
            tls: None,
            readonly: false,
        }
    }

    #[test]
    fn fails_fast_while_down_and_the_watcher_keeps_checking() {
        // A port nobody listens on: bind, note it, close.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let backoff = Arc::new(Backoff::new(&config_for(port)));
        assert_eq!(backoff.refuse(), None);
        let refused: redis::RedisError =
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        backoff.start(&refused);
        let reason = backoff.refuse().expect("down");
        assert!(reason.contains("refused"), "{reason}");
        // Still down after a check: nothing listens.
        let deadline = Instant::now() + BACKOFF + Duration::from_millis(500);
        while Instant::now() < deadline {
            assert!(backoff.refuse().is_some());
            thread::sleep(Duration::from_millis(50));
        }
        backoff.clear();
        assert_eq!(backoff.refuse(), None);
    }
}
