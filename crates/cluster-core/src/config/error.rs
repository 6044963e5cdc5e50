//! What is wrong with a configuration: every variant names the place, none quotes a password.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the cluster config must be a map with a 'nodes' entry, got {0}")]
    NotAMap(String),
    #[error(
        "the cluster config has no 'nodes' (expected {{'nodes': {{'node_1': {{'host': ..., 'port': ...}}, ...}}}})"
    )]
    MissingNodes,
    #[error("'nodes' is empty: a cluster needs at least one master")]
    EmptyNodes,
    #[error("{at}: expected {expected}, got {got}")]
    WrongType {
        at: String,
        expected: &'static str,
        got: String,
    },
    #[error("{node}: 'port' must be an integer in 1..65535, got {got}")]
    BadPort { node: String, got: String },
    #[error("{at}: unknown option '{option}' (known: {known})")]
    UnknownOption {
        at: String,
        option: String,
        known: String,
    },
    #[error("masters must be named node_1..node_{count} without gaps; {problem}")]
    MasterNames { count: usize, problem: String },
    #[error("{first} and {second} have the same address {addr}")]
    DuplicateAddress {
        first: String,
        second: String,
        addr: String,
    },
    #[error("'master_of' names {name}, which is not in 'nodes'")]
    UnknownNode { name: String },
    #[error("'master_of': {0}")]
    BadReplicaLayout(String),
    #[error("bad URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{at}: {problem}")]
    Tls { at: String, problem: String },
    #[error("{at}: {problem}")]
    Distribution { at: String, problem: String },
    #[error("'routing_rules': {0}")]
    RoutingRule(#[from] crate::placement::RuleError),
    #[error("'redis_cluster': {0}")]
    RedisCluster(String),
    #[error(
        "'max_replica_lag' ({lag:?}) must be longer than 'replica_check_interval' ({interval:?}): the lag is only known to within one interval"
    )]
    LagBelowInterval { lag: Duration, interval: Duration },
}
