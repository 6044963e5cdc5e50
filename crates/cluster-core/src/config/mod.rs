//! The cluster configuration: the seed's dict shape (`dict.rs`), a list of URLs (`url.rs`) or
//! `(name, "host:port")` pairs, each validated as a whole before anything connects. Every
//! error names what is wrong and where (`error.rs`); none quotes a password.

mod checks;
mod dict;
mod distribution;
mod error;
mod placement;
mod redis_cluster;
mod scripts;
mod tls;
mod transactions;
mod types;
mod url;

pub use error::ConfigError;
pub use scripts::KeylessScripts;
pub use tls::{CertReqs, TlsOptions, TlsSettings};
pub use transactions::CrossNodeTransactions;
pub use types::{
    ClusterConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_REPLICA_LAG,
    DEFAULT_REPLICA_CHECK_INTERVAL, NodeConfig, PreviousPlacement, ReplicaHealth, Secret,
};

use checks::{order_masters, port_number, split_host_port, unique_addresses};

impl ClusterConfig {
    /// The seed's dict shape:
    /// `{"nodes": {"node_1": {"host": "127.0.0.1", "port": 7000}, ...}, "master_of": {"node_1":
    /// "node_4"}, "mastersonly": false, "db": 0}`; see `dict.rs` for every option.
    pub fn from_value(config: &serde_json::Value) -> Result<ClusterConfig, ConfigError> {
        dict::parse(config)
    }

    /// The same, from JSON text.
    pub fn from_json(text: &str) -> Result<ClusterConfig, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::NotAMap(format!("invalid JSON ({e})")))?;
        dict::parse(&value)
    }

    /// Masters from URLs, in placement order (`node_1` first):
    /// `redis://[[user]:password@]host[:port][/db]`.
    pub fn from_urls<S: AsRef<str>>(urls: &[S]) -> Result<ClusterConfig, ConfigError> {
        url::parse_urls(urls)
    }

    /// Masters from `(name, "host:port")` pairs (`[v6]:port` for IPv6); names must be
    /// `node_1..node_N`, each once.
    pub fn from_nodes<N: AsRef<str>, A: AsRef<str>>(
        nodes: impl IntoIterator<Item = (N, A)>,
    ) -> Result<ClusterConfig, ConfigError> {
        let mut named = Vec::new();
        for (name, addr) in nodes {
            let (name, addr) = (name.as_ref().to_owned(), addr.as_ref());
            let (host, port) = split_host_port(addr).ok_or_else(|| ConfigError::WrongType {
                at: name.clone(),
                expected: "an address host:port",
                got: format!("'{addr}'"),
            })?;
            let host = host.trim();
            if host.is_empty() {
                return Err(ConfigError::WrongType {
                    at: format!("node '{name}': 'host'"),
                    expected: "a non-empty host name or IP",
                    got: format!("'{addr}'"),
                });
            }
            let port = port_number(&name, port.parse().ok(), || format!("the text '{port}'"))?;
            named.push((name.clone(), NodeConfig::new(name, host, port)));
        }
        if named.is_empty() {
            return Err(ConfigError::EmptyNodes);
        }
        let masters = order_masters(
            named
                .iter()
                .map(|(n, node)| (n.as_str(), node.clone()))
                .collect(),
        )?;
        let config = ClusterConfig::of_masters(masters);
        unique_addresses(&config)?;
        Ok(config)
    }
}

/// A `distribution` option on its own (a name, or a map with `name` and the distribution's
/// options), as the config's `distribution` takes it.
pub fn parse_distribution(
    value: &serde_json::Value,
) -> Result<crate::placement::DistributionSpec, ConfigError> {
    let mut top = serde_json::Map::new();
    top.insert(distribution::OPTION.to_owned(), value.clone());
    Ok(distribution::parse_spec(&top)?.unwrap_or_default())
}
