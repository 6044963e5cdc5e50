//! Direct connections to the servers of a config, for the tools' per-node work.

use std::time::Duration;

use cluster_core::{NodeConfig, NodeConnection};

use crate::error::ToolError;

/// How long a tool waits for a node that does not answer the TCP handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to one server with its config's credentials, db, timeouts and TLS (made by
/// the engine, as the client's own connections are).
pub fn connect(node: &NodeConfig) -> Result<NodeConnection, ToolError> {
    let mut node = node.clone();
    node.connect_timeout = node.connect_timeout.or(Some(CONNECT_TIMEOUT));
    NodeConnection::open(&node).map_err(|e| ToolError::engine(&node, e))
}
