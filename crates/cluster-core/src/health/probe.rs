//! A connection of a health check's own to one server, asking `INFO replication`.

use std::sync::Mutex;
use std::time::Duration;

use redis::Value;

use crate::config::NodeConfig;
use crate::error::ClusterError;
use crate::node::connection::Connection;
use crate::wire::request::pack_command;

/// A health check never waits longer than this for a node (a stopped node must not hold up
/// the checks of the others for long).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection of its own for health checks, so they never wait behind (or disturb) the
/// client's pooled connections; opened on demand, dropped after a failure.
pub struct Probe {
    config: NodeConfig,
    connection: Mutex<Option<Connection>>,
}

impl Probe {
    pub fn new(node: &NodeConfig) -> Probe {
        let mut config = node.clone();
        let cap = |t: Option<Duration>| Some(t.map_or(PROBE_TIMEOUT, |t| t.min(PROBE_TIMEOUT)));
        config.connect_timeout = cap(config.connect_timeout);
        config.read_timeout = cap(config.read_timeout);
        Probe {
            config,
            connection: Mutex::new(None),
        }
    }

    /// The node's `INFO replication` text; the error names the node.
    pub fn replication_info(&self) -> Result<String, ClusterError> {
        let node = &self.config.name;
        match self.query(&[b"INFO".as_slice(), b"replication"])? {
            Value::BulkString(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Value::VerbatimString { text, .. } => Ok(text),
            Value::ServerError(error) => Err(ClusterError::Server {
                node: node.clone(),
                error,
            }),
            other => Err(ClusterError::Command(format!(
                "ERR {node} answered INFO with {other:?}"
            ))),
        }
    }

    /// One command on the probe's connection (opened first if need be); an error reply is a
    /// value. A failed connection is dropped, the error naming the node.
    pub fn query<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Value, ClusterError> {
        let (node, addr) = (&self.config.name, self.config.addr());
        let mut slot = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        // A connection the server closed since the last check (its `timeout`) is replaced.
        if slot.as_ref().is_some_and(Connection::is_stale) {
            *slot = None;
        }
        let connection = match &mut *slot {
            Some(connection) => connection,
            None => slot.insert(
                Connection::open(&self.config)
                    .map_err(|e| ClusterError::from_redis(node, &addr, e))?,
            ),
        };
        let mut packed = Vec::new();
        pack_command(args, &[], &mut packed);
        match connection.send(&packed).and_then(|()| connection.receive()) {
            Ok(value) => Ok(value),
            Err(e) => {
                *slot = None;
                Err(ClusterError::from_redis(node, &addr, e.into()))
            }
        }
    }
}
