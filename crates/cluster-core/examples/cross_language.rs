//! The Rust side of tests/cross_language: writes or reads a list of keys through the cluster.
//!
//! Usage: `cross_language CLUSTER.json KEYS.json write PREFIX` sets key i to `PREFIX:i`;
//! `cross_language CLUSTER.json KEYS.json read` prints, per key, `[node, value or null]` as
//! JSON. Keys (and values) travel as base64, so binary keys survive.

use std::error::Error;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cluster_core::{Cluster, ClusterConfig, Value};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: cross_language CLUSTER.json KEYS.json write PREFIX | read";
    let (config, keys, action) = match args.as_slice() {
        [_, config, keys, action, ..] => (config, keys, action.as_str()),
        _ => return Err(usage.into()),
    };
    let cluster = Cluster::new(ClusterConfig::from_json(&std::fs::read_to_string(config)?)?)?;
    let keys: Vec<String> = serde_json::from_str(&std::fs::read_to_string(keys)?)?;
    let keys = keys
        .iter()
        .map(|k| STANDARD.decode(k))
        .collect::<Result<Vec<_>, _>>()?;
    match action {
        "write" => {
            let prefix = args.get(4).ok_or(usage)?;
            for (i, key) in keys.iter().enumerate() {
                let value = format!("{prefix}:{i}");
                cluster.execute(&[b"SET".as_slice(), key, value.as_bytes()])?;
            }
        }
        "read" => {
            let mut out = Vec::with_capacity(keys.len());
            for key in &keys {
                let value = match cluster.execute(&[b"GET".as_slice(), key])? {
                    Value::BulkString(bytes) => serde_json::Value::String(STANDARD.encode(bytes)),
                    _ => serde_json::Value::Null,
                };
                out.push(serde_json::json!([cluster.node_for(key), value]));
            }
            println!("{}", serde_json::Value::Array(out));
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}
