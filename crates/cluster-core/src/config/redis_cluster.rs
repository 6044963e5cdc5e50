//! The `redis_cluster` option: the servers are a Redis Cluster (or a Valkey cluster), reached
//! through any of `nodes`. The cluster places keys itself (CRC16 slots, Redis Cluster's hash
//! tags, full names stored), so the options that choose a placement, and those that describe
//! a client-side deployment (`master_of`), do not apply to it. `previous` may name the
//! client-side deployment keys are being moved from (see `executor/window.rs`).

use serde_json::{Map, Value};

use super::checks::{describe, port_number, split_host_port};
use super::distribution;
use super::error::ConfigError;
use super::placement::PLACEMENT_OPTIONS;
use super::types::NodeConfig;
use crate::placement::{DistributionSpec, Placement, TagMode};

pub const OPTION: &str = "redis_cluster";

/// Options of a client-side deployment, refused beside `redis_cluster`, with why.
const REFUSED: [(&str, &str); 5] = [
    (
        "nodes",
        "the cluster's nodes go in 'redis_cluster': {'nodes': [...]}",
    ),
    (
        "master_of",
        "the cluster says which servers are replicas of which",
    ),
    (
        distribution::OPTION,
        "a Redis Cluster places keys by its own slots",
    ),
    (
        PLACEMENT_OPTIONS[0],
        "a Redis Cluster routes by its own hash tags and stores full names",
    ),
    (
        PLACEMENT_OPTIONS[1],
        "a Redis Cluster places a key by its hash tag only",
    ),
];

/// Where the client may start: an address or a URL (which carries its own credentials).
pub enum Seed {
    Addr(String, u16),
    Url(String),
}

/// The placement of every Redis Cluster: the key's hash tag routes, its slot is the unit.
pub fn placement() -> Placement {
    let spec = DistributionSpec::RedisCluster;
    let built = spec.build(&[]).expect("nothing to build");
    Placement::new(TagMode::Keep, Default::default()).with_distribution(spec, built)
}

/// Refuses the options that do not apply to a Redis Cluster, each with its reason.
pub fn refuse_options(top: &Map<String, Value>) -> Result<(), ConfigError> {
    for (option, why) in REFUSED {
        if top.get(option).is_some_and(|v| !v.is_null()) {
            return Err(ConfigError::RedisCluster(format!(
                "'{option}' does not apply: {why}"
            )));
        }
    }
    Ok(())
}

/// The `redis_cluster` value: `{"nodes": ["host:port" or "redis://...", ...]}`, at least one.
pub fn seeds(value: &Value) -> Result<Vec<Seed>, ConfigError> {
    let expected = "{'nodes': ['host:port' or a redis:// URL, ...]}";
    let bad = |got: &Value| ConfigError::WrongType {
        at: format!("'{OPTION}'"),
        expected,
        got: describe(got),
    };
    let map = value.as_object().ok_or_else(|| bad(value))?;
    if let Some(other) = map.keys().find(|k| *k != "nodes") {
        return Err(ConfigError::UnknownOption {
            at: format!("'{OPTION}'"),
            option: other.clone(),
            known: "nodes".to_owned(),
        });
    }
    let nodes = match map.get("nodes") {
        Some(Value::Array(nodes)) if !nodes.is_empty() => nodes,
        Some(Value::Array(_)) => return Err(ConfigError::EmptyNodes),
        _ => return Err(bad(value)),
    };
    nodes
        .iter()
        .map(|node| {
            let text = node.as_str().ok_or_else(|| bad(node))?.trim();
            let lower = text.to_ascii_lowercase();
            if lower.starts_with("redis://") || lower.starts_with("rediss://") {
                return Ok(Seed::Url(text.to_owned()));
            }
            // Credentials belong in a URL; anything else holding them is not quoted back.
            if text.contains('@') || text.contains(":/") {
                return Err(ConfigError::WrongType {
                    at: format!("'{OPTION}' node"),
                    expected: "host:port or a redis:// URL",
                    got: "a text that is neither (not shown: it may hold a password)".to_owned(),
                });
            }
            let at = format!("'{OPTION}' node '{text}'");
            let (host, port) = split_host_port(text).ok_or_else(|| ConfigError::WrongType {
                at: at.clone(),
                expected: "host:port or a redis:// URL",
                got: format!("'{text}'"),
            })?;
            let port = port_number(&at, port.parse().ok(), || format!("the text '{port}'"))?;
            Ok(Seed::Addr(host.trim().to_owned(), port))
        })
        .collect()
}

/// A URL seed naming a database other than 0 (a Redis Cluster has only 0) is refused.
pub fn only_db_zero(node: &NodeConfig) -> Result<(), ConfigError> {
    match node.db {
        0 => Ok(()),
        db => Err(ConfigError::RedisCluster(format!(
            "a Redis Cluster has only database 0, {} asks for {db}",
            node.addr()
        ))),
    }
}
