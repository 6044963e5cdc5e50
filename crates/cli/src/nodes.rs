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

/// Refuses configs that name one server (and database) two ways (`localhost` and `127.0.0.1`,
/// a host name and its IP) between or within them, told apart by the server's own `run_id`:
/// a reshard would take such a server's keys for keys that move, restore them onto themselves
/// and delete "the old copy", the key itself. Nothing is changed.
pub fn refuse_one_server_named_twice(masters: &[&NodeConfig]) -> Result<(), ToolError> {
    let mut seen: Vec<(String, &NodeConfig)> = Vec::new();
    for node in masters {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut connect(node)?)
            .map_err(|e| ToolError::Node {
                node: node.name.clone(),
                addr: node.addr(),
                message: e.to_string(),
            })?;
        let Some(run_id) = info
            .lines()
            .find_map(|line| line.strip_prefix("run_id:"))
            .map(|id| id.trim().to_owned())
        else {
            continue;
        };
        if let Some((_, other)) = seen
            .iter()
            .find(|(id, other)| *id == run_id && other.db == node.db && other.addr() != node.addr())
        {
            return Err(ToolError::Config(format!(
                "{} and {} are one server (run_id {run_id}), named two ways: name it the same \
                 way in both configs (a reshard would take its keys for keys that move, and \
                 delete them)",
                other.addr(),
                node.addr()
            )));
        }
        seen.push((run_id, node));
    }
    Ok(())
}
