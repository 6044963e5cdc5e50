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
    connection: Connection,
    db: i64,
    open: bool,
}

impl NodeConnection {
    /// Connects, logs in and selects the node's database. Errors name the node.
    pub fn open(config: &NodeConfig) -> Result<NodeConnection, ClusterError> {
        let failed = |e| ClusterError::from_redis(&config.name, &config.addr(), e);
        let mut node = NodeConnection {
            connection: Connection::open(config).map_err(failed)?,
            db: config.db,
            open: true,
        };
        if config.db != 0 {
            let mut select = Vec::new();
            pack_command(&["SELECT", &config.db.to_string()], &[], &mut select);
            if let Value::ServerError(error) = node.req_packed_command(&select).map_err(failed)? {
                return Err(ClusterError::Server {
                    node: config.name.clone(),
                    error,
                });
            }
        }
        Ok(node)
    }

    /// Reads `count` replies; an I/O error leaves the connection unusable (its state is
    /// unknown), as a plain redis-rs connection does.
    fn receive(&mut self, count: usize) -> RedisResult<Vec<Value>> {
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

    fn send(&mut self, packed: &[u8]) -> RedisResult<()> {
        self.connection.send(packed).map_err(|e| {
            self.open = false;
            e.into()
        })
    }
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
        self.db
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
