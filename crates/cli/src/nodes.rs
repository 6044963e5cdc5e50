//! Direct connections to the servers of a config, for the tools' per-node work.

use std::time::Duration;

use cluster_core::NodeConfig;

use crate::error::ToolError;

/// How long a tool waits for a node that does not answer the TCP handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to one server with its config's credentials, db and timeouts.
pub fn connect(node: &NodeConfig) -> Result<redis::Connection, ToolError> {
    let info = node
        .connection_info()
        .map_err(|e| ToolError::node(node, &e))?;
    let client = redis::Client::open(info).map_err(|e| ToolError::node(node, &e))?;
    let connection = client
        .get_connection_with_timeout(node.connect_timeout.unwrap_or(CONNECT_TIMEOUT))
        .map_err(|e| ToolError::node(node, &e))?;
    connection
        .set_read_timeout(node.read_timeout)
        .map_err(|e| ToolError::node(node, &e))?;
    Ok(connection)
}
