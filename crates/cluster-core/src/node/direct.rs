//! `NodeConnection`: one direct connection to one server, made the way the engine makes its
//! own (timeouts, TLS, AUTH, then SELECT of the node's db), behind `redis::ConnectionLike` so
//! `redis::cmd(..).query(..)` and pipelines work on it. For tools that work node by node (the
//! migration tools): no routing, no pooling, no back-off.

use redis::{ConnectionLike, RedisResult, Value};

use super::connection::Connection;
use crate::config::NodeConfig;
use crate::error::ClusterError;
use crate::wire::request::pack_command;

pub struct NodeConnection {
    config: NodeConfig,
    connection: Connection,
    open: bool,
}

impl NodeConnection {
    /// Connects, logs in and selects the node's database. Errors name the node.
    pub fn open(config: &NodeConfig) -> Result<NodeConnection, ClusterError> {
        Ok(NodeConnection {
            connection: connect(config)?,
            config: config.clone(),
            open: true,
        })
    }

    /// Reads `count` replies; an I/O error leaves the connection unusable (its state is
    /// unknown), as a plain redis-rs connection does. With `send`, a tool can write to several
    /// servers before reading from any, so they work at the same time.
    pub fn receive(&mut self, count: usize) -> RedisResult<Vec<Value>> {
        let mut replies = Vec::with_capacity(count);
        for _ in 0..count {
            match self.connection.receive() {
                Ok(value) => replies.push(value),
                Err(e) => {
                    self.open = false;
                    return Err(e.into());
                }
            }
        }
        Ok(replies)
    }

    /// Writes commands. A connection the server closed while it sat idle (a long job leaves
    /// some destinations quiet for a while, and servers have a `timeout`) is replaced first:
    /// nothing had been written to it.
    pub fn send(&mut self, packed: &[u8]) -> RedisResult<()> {
        if self.connection.is_stale() {
            self.connection = connect(&self.config).map_err(redis::RedisError::from)?;
        }
        self.connection.send(packed).map_err(|e| {
            self.open = false;
            e.into()
        })
    }
}

/// A new connection to the node, logged in, in the node's database.
fn connect(config: &NodeConfig) -> Result<Connection, ClusterError> {
    let failed = |e| ClusterError::from_redis(&config.name, &config.addr(), e);
    let mut connection = Connection::open(config).map_err(failed)?;
    if config.db != 0 {
        let mut select = Vec::new();
        pack_command(&["SELECT", &config.db.to_string()], &[], &mut select);
        connection.send(&select).map_err(|e| failed(e.into()))?;
        if let Value::ServerError(error) = connection.receive().map_err(|e| failed(e.into()))? {
            return Err(ClusterError::Server {
                node: config.name.clone(),
                error,
            });
        }
    }
    Ok(connection)
}

impl ConnectionLike for NodeConnection {
    /// An error reply is returned as `Value::ServerError`, as on a plain connection.
    fn req_packed_command(&mut self, packed: &[u8]) -> RedisResult<Value> {
        self.send(packed)?;
        Ok(self.receive(1)?.pop().expect("one reply"))
    }

    fn req_packed_commands(
        &mut self,
        packed: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.send(packed)?;
        Ok(self.receive(offset + count)?.split_off(offset))
    }

    fn get_db(&self) -> i64 {
        self.config.db
    }

    fn check_connection(&mut self) -> bool {
        let mut ping = Vec::new();
        pack_command(&["PING"], &[], &mut ping);
        self.req_packed_command(&ping).is_ok()
    }

    fn is_open(&self) -> bool {
        self.open
    }
}
