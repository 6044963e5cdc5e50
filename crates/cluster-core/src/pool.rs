//! One connection pool per server: lazy connect with the node's timeouts, AUTH and SELECT
//! done by redis-rs on connect, idle connections reused, a broken one dropped and replaced
//! by the next call. Thread-safe; a connection is used by one caller at a time.

use std::sync::Mutex;

use redis::{Client, Connection, Value};

use crate::config::NodeConfig;
use crate::error::ClusterError;

/// Idle connections kept per server; more callers than this at once still get connections,
/// the extra ones are closed when returned.
const MAX_IDLE: usize = 32;

pub struct NodePool {
    config: NodeConfig,
    addr: String,
    client: Client,
    idle: Mutex<Vec<Connection>>,
}

impl NodePool {
    /// Prepares the pool; nothing is connected until the first call.
    pub fn new(config: NodeConfig) -> Result<NodePool, ClusterError> {
        let addr = config.addr();
        let client = config
            .connection_info()
            .and_then(Client::open)
            .map_err(|e| ClusterError::from_redis(&config.name, &addr, e))?;
        Ok(NodePool {
            config,
            addr,
            client,
            idle: Mutex::new(Vec::new()),
        })
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
        let mut connection = self.checkout()?;
        match connection.send_packed_command(packed) {
            Ok(()) => Ok(InFlight {
                pool: self,
                connection,
            }),
            Err(e) => Err(self.broken(e)),
        }
    }

    fn checkout(&self) -> Result<Connection, ClusterError> {
        if let Some(connection) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(connection);
        }
        let connection = match self.config.connect_timeout {
            Some(timeout) => self.client.get_connection_with_timeout(timeout),
            None => self.client.get_connection(),
        }
        .map_err(|e| self.broken(e))?;
        connection
            .set_read_timeout(self.config.read_timeout)
            .and_then(|()| connection.set_write_timeout(self.config.read_timeout))
            .map_err(|e| self.broken(e))?;
        Ok(connection)
    }

    fn checkin(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
    }

    /// The error for a failed exchange. The idle connections are dropped with it: when one
    /// connection to a server broke (restart, network), its siblings almost surely did too,
    /// and each would otherwise fail one more call before being replaced.
    fn broken(&self, e: redis::RedisError) -> ClusterError {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
        ClusterError::from_redis(&self.config.name, &self.addr, e)
    }
}

/// A command written to a server whose reply has not been read yet.
pub struct InFlight<'a> {
    pool: &'a NodePool,
    connection: Connection,
}

impl InFlight<'_> {
    /// Reads the reply. The connection goes back to the pool only when the exchange completed;
    /// after an I/O error or a timeout its state is unknown, so it is dropped.
    pub fn receive(self) -> Result<Value, ClusterError> {
        let mut replies = self.receive_many(1)?;
        Ok(replies.pop().expect("one reply"))
    }

    /// Reads `count` replies, for a batch of commands written in one go.
    pub fn receive_many(mut self, count: usize) -> Result<Vec<Value>, ClusterError> {
        let mut replies = Vec::with_capacity(count);
        for _ in 0..count {
            match self.connection.recv_response() {
                Ok(value) => replies.push(value),
                Err(e) => return Err(self.pool.broken(e)),
            }
        }
        self.pool.checkin(self.connection);
        Ok(replies)
    }
}
