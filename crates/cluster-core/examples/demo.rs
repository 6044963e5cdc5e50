//! `make demo`: writes keys through the cluster and shows where each one landed, confirmed by
//! asking every master directly which of them holds the key's stored name.
//!
//! Usage: `cargo run -p cluster-core --example demo -- CLUSTER.json [PLACEMENTS.json]`; the
//! second file gets every key with its node and stored name, for the Python half of the demo.

use std::error::Error;
use std::time::Duration;

use cluster_core::placement::{crc32, split_tag};
use cluster_core::{Cluster, ClusterConfig, NodeConfig};
use redis::Commands;

const KEYS: &[&str] = &[
    "foo",
    "bar{foo}",
    "foobar",
    "user:1000",
    "user:1000:profile",
    "profile{user:1000}",
    "followers{user:1000}",
    "café",
    "日本語",
    "🔑",
    "{b}",
    "a{b}{c}",
    "42",
];

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: demo CLUSTER.json [PLACEMENTS.json]")?;
    let placements_path = std::env::args().nth(2);
    let config = ClusterConfig::from_json(&std::fs::read_to_string(&path)?)?;
    let cluster = Cluster::new(config)?;
    let masters: Vec<NodeConfig> = cluster.masters().into_iter().cloned().collect();

    println!("masters (placement order) and the replicas discovered through INFO replication:");
    for master in &masters {
        let replicas: Vec<String> = cluster
            .replicas_of(&master.name)
            .iter()
            .map(NodeConfig::addr)
            .collect();
        println!(
            "  {:<7} {:<16} replicas: {}",
            master.name,
            master.addr(),
            replicas.join(", ")
        );
    }

    let mut con = cluster.handle();
    let mut direct = masters.iter().map(connect).collect::<Result<Vec<_>, _>>()?;
    println!();
    println!(
        "{:<22} {:<20} {:>10}  {:<7} {:<16} confirmed on the server",
        "key", "stored as", "crc32", "node", "server"
    );
    let mut all_confirmed = true;
    let mut placements = Vec::new();
    for key in KEYS {
        let value = format!("value of {key}");
        let _: () = con.set(*key, &value)?;
        let stored = String::from_utf8_lossy(split_tag(key.as_bytes()).stored).into_owned();
        let node = cluster.node_for(key);
        // Which masters really hold the stored name, with our value?
        let mut holders: Vec<&str> = Vec::new();
        for (master, connection) in masters.iter().zip(direct.iter_mut()) {
            let found: Option<String> = connection.get(&stored)?;
            if found.as_deref() == Some(value.as_str()) {
                holders.push(&master.name);
            }
        }
        let confirmed = holders == [node];
        all_confirmed &= confirmed;
        let server = cluster.node_config_for(key).addr();
        let verdict = if confirmed {
            "yes".to_owned()
        } else {
            format!("NO: found on {holders:?}")
        };
        let crc = crc32(split_tag(key.as_bytes()).route);
        placements.push(serde_json::json!({"key": key, "stored": stored, "node": node}));
        println!(
            "{:<22} {:<20} {crc:>10}  {node:<7} {server:<16} {verdict}",
            format!("{key:?}"),
            format!("{stored:?}"),
        );
    }
    let back: Vec<String> = con.mget(&["bar{foo}", "foo"])?;
    println!();
    println!("mget(['bar{{foo}}', 'foo']) = {back:?}  (one node: the tag puts bar next to foo)");
    // The seed's cross-node example: set algebra over keys on different masters.
    let _: () = con.sadd("seed:foo", &["a1", "a2", "a3"])?;
    let _: () = con.sadd("seed:bar", &["b1", "a2", "b3"])?;
    let stored: i64 = con.sdiffstore("seed:foobar", &["seed:foo", "seed:bar"])?;
    let mut members: Vec<String> = con.smembers("seed:foobar")?;
    members.sort();
    println!(
        "sdiffstore('seed:foobar', 'seed:foo', 'seed:bar') = {stored}, members {members:?}  (keys on {}, {}, {})",
        cluster.node_for("seed:foo"),
        cluster.node_for("seed:bar"),
        cluster.node_for("seed:foobar")
    );
    let _: () = con.del(&["seed:foo", "seed:bar", "seed:foobar"])?;
    let size: i64 = redis::cmd("DBSIZE").query(&mut con)?;
    println!("DBSIZE over all masters = {size}");
    let deleted: i64 = con.del(KEYS)?;
    println!(
        "DEL of all {} keys, split over the masters = {deleted}",
        KEYS.len()
    );
    if let Some(placements_path) = placements_path {
        std::fs::write(&placements_path, serde_json::to_string_pretty(&placements)?)?;
    }
    if !all_confirmed {
        return Err("some keys are not where the placement contract puts them".into());
    }
    println!("every key is on the master crc32(key) % N + 1 names, under its stored name");
    Ok(())
}

/// A direct connection to one server, bypassing the cluster's routing.
fn connect(node: &NodeConfig) -> Result<cluster_core::NodeConnection, cluster_core::ClusterError> {
    let mut node = node.clone();
    node.connect_timeout = Some(Duration::from_secs(2));
    cluster_core::NodeConnection::open(&node)
}
