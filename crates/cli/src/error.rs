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
    /// The destination Redis Cluster failed (the engine's error names the node).
    #[error("the Redis Cluster: {0}")]
    Cluster(String),
    #[error("state file {path}: {message}")]
    State { path: String, message: String },
    /// A worker thread stopped on a bug (a panic) in the middle of a job: what it had
    /// confirmed stays done (and recorded in the state file, if any), the rest is not.
    #[error(
        "a worker stopped unexpectedly ({0}); what was confirmed before stays copied and is recorded in the state file, if one was given: run the same command again to resume"
    )]
    Worker(String),
}

impl ToolError {
    /// An engine error on a node (it names the node itself; the message is kept as is).
    pub fn engine(node: &cluster_core::NodeConfig, error: cluster_core::ClusterError) -> ToolError {
        ToolError::Node {
            node: node.name.clone(),
            addr: node.addr(),
            message: match &error {
                cluster_core::ClusterError::Connection { source, .. }
                | cluster_core::ClusterError::Timeout { source, .. } => source.to_string(),
                other => other.to_string(),
            },
        }
    }

    /// A redis-rs error on a node, without anything the connection info may hold.
    pub fn node(node: &cluster_core::NodeConfig, error: &redis::RedisError) -> ToolError {
        ToolError::Node {
            node: node.name.clone(),
            addr: node.addr(),
            message: error.to_string(),
        }
    }
}
