//! What the tools can fail with: every message names the file, node or key involved, never a
//! password.

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0}")]
    Config(String),
    #[error("{node} ({addr}): {message}")]
    Node {
        node: String,
        addr: String,
        message: String,
    },
    #[error("state file {path}: {message}")]
    State { path: String, message: String },
}

impl ToolError {
    /// A redis-rs error on a node, without anything the connection info may hold.
    pub fn node(node: &cluster_core::NodeConfig, error: &redis::RedisError) -> ToolError {
        ToolError::Node {
            node: node.name.clone(),
            addr: node.addr(),
            message: error.to_string(),
        }
    }
}
