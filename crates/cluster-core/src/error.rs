//! The one error type of the engine. Every variant that involves a server names the node and
//! its `host:port`; no variant ever carries a password.

use crate::config::ConfigError;

/// Everything that can go wrong between a command and its reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// The configuration was rejected before anything was connected.
    #[error("invalid cluster config: {0}")]
    Config(#[from] ConfigError),

    /// A node could not be reached, the connection broke, or authentication failed.
    #[error("{node} ({addr}): {source}")]
    Connection {
        node: String,
        addr: String,
        source: redis::RedisError,
    },

    /// A node did not answer within the read timeout (or connect timeout).
    #[error("{node} ({addr}): timed out: no answer within the timeout")]
    Timeout {
        node: String,
        addr: String,
        source: redis::RedisError,
    },

    /// The caller's signal handler ended the wait for `node`'s reply (a Ctrl-C, a timer; see
    /// `interrupt`). The connection was closed; whether the command ran there is unknown.
    #[error("{node}: the wait for the reply was interrupted by a signal handler")]
    Interrupted { node: String },

    /// The server answered with an error reply; shown exactly as the server wrote it.
    #[error("{}", server_message(.error))]
    Server {
        node: String,
        error: redis::ServerError,
    },

    /// The command itself is malformed (unknown, wrong number of arguments, bad `numkeys`).
    /// Nothing was sent. The message follows Redis's own wording.
    #[error("{0}")]
    Command(String),

    /// A command whose keys must share a node got keys on several nodes. Nothing was sent.
    #[error("{command}: keys map to {}; {reason}", .nodes.join(", "))]
    CrossNode {
        command: String,
        nodes: Vec<String>,
        reason: &'static str,
    },

    /// A write split over several masters failed on some of them after others applied their
    /// part (not atomic across nodes): says both, so nobody assumes nothing happened.
    #[error(
        "{command} failed on {}; its part on {} was applied",
        describe_failures(.failed),
        if .applied.is_empty() { "no other node".to_owned() } else { .applied.join(", ") }
    )]
    Partial {
        command: String,
        failed: Vec<ClusterError>,
        applied: Vec<String>,
    },

    /// A command the cluster never runs (MULTI, SELECT, SUBSCRIBE, SHUTDOWN, ...). Nothing was sent.
    #[error("{command} is not supported by rediscluster: {reason}")]
    Refused {
        command: String,
        reason: &'static str,
    },
}

impl ClusterError {
    /// The node the error comes from, when there is one.
    pub fn node(&self) -> Option<&str> {
        match self {
            ClusterError::Connection { node, .. }
            | ClusterError::Timeout { node, .. }
            | ClusterError::Server { node, .. }
            | ClusterError::Interrupted { node } => Some(node),
            ClusterError::Partial { failed, .. } => failed.first().and_then(ClusterError::node),
            _ => None,
        }
    }

    /// Wraps a redis-rs error met while talking to `node`, telling timeouts apart.
    pub(crate) fn from_redis(node: &str, addr: &str, source: redis::RedisError) -> ClusterError {
        let (node, addr) = (node.to_owned(), addr.to_owned());
        if source.is_timeout() {
            ClusterError::Timeout { node, addr, source }
        } else {
            ClusterError::Connection { node, addr, source }
        }
    }

    /// Is this a failure of the link to a node (so a read may be retried elsewhere)?
    pub fn is_connection_failure(&self) -> bool {
        matches!(
            self,
            ClusterError::Connection { .. } | ClusterError::Timeout { .. }
        )
    }
}

/// `node_2 (127.0.0.1:7001): connection refused; node_3: OOM ...`
fn describe_failures(failed: &[ClusterError]) -> String {
    let parts: Vec<String> = failed
        .iter()
        .map(|e| match e {
            ClusterError::Server { node, .. } => format!("{node}: {e}"),
            other => other.to_string(),
        })
        .collect();
    parts.join("; ")
}

/// `CODE detail`, the line the server sent.
pub(crate) fn server_message(error: &redis::ServerError) -> String {
    match error.details() {
        Some(detail) => format!("{} {detail}", error.code()),
        None => error.code().to_owned(),
    }
}

/// For the `redis::ConnectionLike` handle: keep server errors as redis-rs server errors (so
/// `kind()` and `code()` work as with a plain connection) and describe the rest.
impl From<ClusterError> for redis::RedisError {
    fn from(error: ClusterError) -> redis::RedisError {
        use redis::ErrorKind;
        match error {
            ClusterError::Server { error, .. } => error.into(),
            ClusterError::Config(_) => (
                ErrorKind::InvalidClientConfig,
                "invalid cluster config",
                error.to_string(),
            )
                .into(),
            ClusterError::Connection { .. } | ClusterError::Timeout { .. } => {
                let kind = if let ClusterError::Timeout { .. } = error {
                    std::io::ErrorKind::TimedOut
                } else {
                    std::io::ErrorKind::ConnectionAborted
                };
                std::io::Error::new(kind, error.to_string()).into()
            }
            // Not `ErrorKind::Interrupted`: generic retry loops retry that kind.
            ClusterError::Interrupted { .. } => std::io::Error::other(error.to_string()).into(),
            // Some of it was applied: an I/O-kind error, so callers do not retry it blindly.
            ClusterError::Partial { .. } => std::io::Error::other(error.to_string()).into(),
            ClusterError::Command(_)
            | ClusterError::CrossNode { .. }
            | ClusterError::Refused { .. } => (
                ErrorKind::Client,
                "rejected by rediscluster",
                error.to_string(),
            )
                .into(),
        }
    }
}
