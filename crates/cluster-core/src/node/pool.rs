//! One connection pool per server: lazy connect with the node's timeouts and credentials
//! (`connection.rs`), the client's settings (db, name, ...; `session.rs`) taken by each
//! connection before it is used, idle connections reused (unless the server closed one while it
//! was idle: dropped before anything is written to it), a broken one dropped and replaced by
//! the next call. Thread-safe; a connection is used by one caller at a time. A caller that needs
//! one connection across several exchanges (WATCH ... EXEC) pins one (`NodePool::pin`): nobody
//! else uses it meanwhile, and it comes back only when released.

use std::sync::{Arc, Mutex};

use redis::Value;

use super::backoff::Backoff;
use super::connection::Connection;
use super::session::{Session, SessionState};
use crate::config::NodeConfig;
use crate::error::ClusterError;
use crate::interrupt;
use crate::wire::items::Item;
use crate::wire::request::pack_command;

/// Idle connections kept per server; more callers than this at once still get connections,
/// the extra ones are closed when returned.
const MAX_IDLE: usize = 32;

pub struct NodePool {
    config: NodeConfig,
    addr: String,
    idle: Mutex<Vec<Pooled>>,
    session: Arc<Session>,
    /// Set while the server is considered down: calls fail at once instead of each waiting
    /// for a timeout (see `backoff.rs`).
    backoff: Arc<Backoff>,
}

/// A connection with the client settings it carries (see `session.rs`).
pub struct Pooled {
    connection: Connection,
    version: u64,
    state: SessionState,
}

impl NodePool {
    /// Prepares the pool; nothing is connected until the first call.
    pub fn new(config: NodeConfig, session: Arc<Session>) -> NodePool {
        let addr = config.addr();
        NodePool {
            backoff: Arc::new(Backoff::new(&config)),
            config,
            addr,
            idle: Mutex::new(Vec::new()),
            session,
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Sends one packed command and reads its reply. An error reply from the server is a
    /// `Value::ServerError`, not an `Err`: the connection is still good.
    pub fn query(&self, packed: &[u8]) -> Result<Value, ClusterError> {
        self.send(packed)?.receive()
    }

    /// The first half of a scatter-gather: writes the command and returns without waiting,
    /// so several nodes can work on their part at once.
    pub fn send(&self, packed: &[u8]) -> Result<InFlight<'_>, ClusterError> {
        let mut pooled = self.checkout()?;
        match pooled.connection.send(packed) {
            Ok(()) => Ok(InFlight { pool: self, pooled }),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Closes the idle connections (a call in flight keeps its own and returns it later).
    pub fn disconnect(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Makes one connection take the client's current settings (connecting if needed), without
    /// sending anything else; a setting the server refuses is the error.
    pub fn refresh(&self) -> Result<(), ClusterError> {
        let pooled = self.checkout()?;
        self.checkin(pooled);
        Ok(())
    }

    /// Checks out one connection for a single caller across several exchanges (WATCH ...
    /// EXEC): it carries the client's settings as they are now, and no other caller gets it
    /// until `Pinned::release` gives it back. A `Pinned` dropped without `release` is closed,
    /// never returned: whatever state it carries (a WATCH) ends with it.
    pub fn pin(&self) -> Result<Pinned, ClusterError> {
        Ok(Pinned {
            pooled: self.checkout()?,
        })
    }

    /// Is the server considered down (calls to it fail at once)?
    pub fn is_backing_off(&self) -> bool {
        self.backoff.is_down()
    }

    /// An idle connection or a new one, carrying the client's current settings. While the
    /// server is backed off this fails at once, naming the node and the failure that caused it.
    fn checkout(&self) -> Result<Pooled, ClusterError> {
        if let Some(cause) = self.backoff.refuse() {
            return Err(ClusterError::from_redis(
                &self.config.name,
                &self.addr,
                std::io::Error::new(std::io::ErrorKind::NotConnected, cause).into(),
            ));
        }
        // An idle connection the server closed meanwhile (its `timeout`, CLIENT KILL, a
        // restart) is dropped before anything is written to it, and the next one is taken:
        // nothing was sent on it, so nothing is lost or run twice.
        let idle = loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                Some(pooled) if pooled.connection.is_stale() => continue,
                next => break next,
            }
        };
        let pooled = match idle {
            Some(pooled) => pooled,
            None => Pooled {
                connection: self.connect()?,
                // Never current: a new connection always takes the settings (its db at least).
                version: u64::MAX,
                state: SessionState::fresh_connection(),
            },
        };
        if pooled.version == self.session.version() {
            return Ok(pooled);
        }
        self.bring_up_to_date(pooled)
    }

    /// Sends the settings that changed since the connection last took them (one round trip).
    /// A refused setting drops the connection (its state is unknown) and is the error.
    fn bring_up_to_date(&self, mut pooled: Pooled) -> Result<Pooled, ClusterError> {
        let (version, state) = self.session.snapshot();
        if state.auth.is_none() && pooled.state.auth.is_some() {
            // Back to the config's credentials (RESET): a new connection has them.
            pooled = Pooled {
                connection: self.connect()?,
                version: u64::MAX,
                state: SessionState::fresh_connection(),
            };
        }
        let commands = state.commands_from(&pooled.state, self.config.db);
        if !commands.is_empty() {
            let mut packed = Vec::new();
            for command in &commands {
                pack_command(command, &[], &mut packed);
            }
            pooled
                .connection
                .send(&packed)
                .map_err(|e| self.failed(e))?;
            for _ in &commands {
                match pooled.connection.receive() {
                    Ok(Value::ServerError(error)) => {
                        return Err(ClusterError::Server {
                            node: self.config.name.clone(),
                            error,
                        });
                    }
                    Ok(_) => {}
                    Err(e) => return Err(self.failed(e)),
                }
            }
            self.backoff.clear();
        }
        pooled.version = version;
        pooled.state = state;
        Ok(pooled)
    }

    fn connect(&self) -> Result<Connection, ClusterError> {
        match Connection::open(&self.config) {
            // The back-off ends only when an exchange completes: a stopped server still
            // accepts connections (the kernel does) but answers nothing.
            Ok(connection) => Ok(connection),
            Err(_) if interrupt::tripped() => Err(self.interrupted()),
            Err(e) => {
                // Refused, unreachable or silent: the server is down, not just one socket.
                // A refused AUTH is not an I/O error and starts no back-off.
                if e.is_io_error() {
                    self.backoff.start(&e);
                }
                Err(self.broken(e))
            }
        }
    }

    fn checkin(&self, pooled: Pooled) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(pooled);
        }
    }

    /// The error for a failed exchange's I/O: as `broken`, unless the caller's signal handler
    /// ended the wait (see `interrupt`): nothing is wrong with the server then, so its idle
    /// connections stay and no liveness check or back-off starts.
    fn failed(&self, e: std::io::Error) -> ClusterError {
        if interrupt::tripped() {
            return self.interrupted();
        }
        self.broken(e.into())
    }

    fn interrupted(&self) -> ClusterError {
        ClusterError::Interrupted {
            node: self.config.name.clone(),
        }
    }

    /// The error for a failed exchange. The idle connections are dropped with it: when one
    /// connection to a server broke (restart, network), its siblings almost surely did too,
    /// and each would otherwise fail one more call before being replaced.
    fn broken(&self, e: redis::RedisError) -> ClusterError {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
        // A server that stopped answering (SIGSTOP, overload, partition) would make every
        // call wait the whole read timeout: find out, without holding up this caller, whether
        // it still answers a PING; if not, back off so the others fail at once. (A command
        // that merely ran longer than the timeout, like a long BLPOP, starts no back-off.)
        if e.is_timeout() {
            self.backoff.check_liveness();
        }
        ClusterError::from_redis(&self.config.name, &self.addr, e)
    }
}

/// A connection checked out by one caller for several exchanges (see `NodePool::pin`). It
/// keeps the settings it had when pinned (a SELECT meanwhile reaches it after its release).
pub struct Pinned {
    pooled: Pooled,
}

impl Pinned {
    /// Writes packed commands in one go and reads `count` replies (error replies are values).
    /// After an I/O error or a timeout the connection's state is unknown: the error says so,
    /// and the caller drops this `Pinned` (closing the connection).
    pub fn exchange(
        &mut self,
        pool: &NodePool,
        packed: &[u8],
        count: usize,
    ) -> Result<Vec<Value>, ClusterError> {
        self.send(pool, packed)?;
        self.receive(pool, count)
    }

    /// Writes packed commands without reading (so that several servers work at once: write
    /// to each, then `receive` from each). An error leaves the connection in doubt, as above.
    pub fn send(&mut self, pool: &NodePool, packed: &[u8]) -> Result<(), ClusterError> {
        let connection = &mut self.pooled.connection;
        connection.send(packed).map_err(|e| pool.failed(e))
    }

    /// Reads `count` replies to what `send` wrote (error replies are values).
    pub fn receive(&mut self, pool: &NodePool, count: usize) -> Result<Vec<Value>, ClusterError> {
        let connection = &mut self.pooled.connection;
        let mut replies = Vec::with_capacity(count);
        for _ in 0..count {
            match connection.receive() {
                Ok(value) => replies.push(value),
                Err(e) => return Err(pool.failed(e)),
            }
        }
        pool.backoff.clear();
        Ok(replies)
    }

    /// Gives the connection back to `pool` (the one it was pinned from) for any caller: only
    /// once it carries no state of its own caller's (after EXEC or UNWATCH).
    pub fn release(self, pool: &NodePool) {
        pool.checkin(self.pooled);
    }
}

/// A command written to a server whose reply has not been read yet.
pub struct InFlight<'a> {
    pool: &'a NodePool,
    pooled: Pooled,
}

impl InFlight<'_> {
    /// Reads the reply. The connection goes back to the pool only when the exchange completed;
    /// after an I/O error or a timeout its state is unknown, so it is dropped.
    pub fn receive(self) -> Result<Value, ClusterError> {
        let mut replies = self.receive_many(1)?;
        Ok(replies.pop().expect("one reply"))
    }

    /// Writes more packed commands on the same connection, after those already sent (their
    /// replies come after theirs). After a failed write the connection's state is unknown: the
    /// caller drops this `InFlight`, which closes it.
    pub fn send_more(&mut self, packed: &[u8]) -> Result<(), ClusterError> {
        self.pooled
            .connection
            .send(packed)
            .map_err(|e| self.pool.failed(e))
    }

    /// Reads the next reply of several written in one go, keeping the connection for the
    /// rest (`finish` gives it back once all are read).
    pub fn receive_next(&mut self) -> Result<Value, ClusterError> {
        self.pooled
            .connection
            .receive()
            .map_err(|e| self.pool.failed(e))
    }

    /// `receive_items` for the next reply of several written in one go (see `receive_next`).
    pub fn receive_next_items(
        &mut self,
        expected: usize,
        visit: &mut dyn FnMut(usize, Item<'_>),
    ) -> Result<Option<Value>, ClusterError> {
        self.pooled
            .connection
            .receive_items(expected, visit)
            .map_err(|e| self.pool.failed(e))
    }

    /// Every reply was read (`receive_next`): the connection goes back to the pool.
    pub fn finish(self) {
        self.pool.backoff.clear();
        self.pool.checkin(self.pooled);
    }

    /// Reads `count` replies, for a batch of commands written in one go.
    pub fn receive_many(mut self, count: usize) -> Result<Vec<Value>, ClusterError> {
        let mut replies = Vec::with_capacity(count);
        for _ in 0..count {
            match self.pooled.connection.receive() {
                Ok(value) => replies.push(value),
                Err(e) => return Err(self.pool.failed(e)),
            }
        }
        self.pool.backoff.clear();
        self.pool.checkin(self.pooled);
        Ok(replies)
    }
}
