//! `rediscluster reshard` against real servers: 3 → 5 masters and back to 3, with keys written
//! through the client (plain names, names placed by a tag that a `--tag-rule` recovers, and
//! names placed by a tag nothing can recover). After each step, the client with the new config
//! finds every placeable key with its value; the unplaceable ones are counted and left alone.

#[path = "../../cluster-core/tests/support/mod.rs"]
mod support;

use cluster_core::{Cluster, ClusterConfig, Value};
use rediscluster_tools::reshard::{ReshardOptions, reshard};
use support::{config_of, slot, start_masters};

fn config(servers: &[support::RedisServer]) -> ClusterConfig {
    ClusterConfig::from_value(&config_of(servers))
        .unwrap()
        .masters_only(true)
}

fn get(cluster: &Cluster, key: &str) -> Value {
    cluster.execute(&["GET", key]).unwrap()
}

#[test]
fn reshard_three_to_five_and_back() {
    let servers = start_masters(slot::RESHARD, 5);
    let (three, five) = (config(&servers[..3]), config(&servers));
    let before = Cluster::new(three.clone()).unwrap();
    let plain: Vec<String> = (0..600).map(|i| format!("plain:{i}")).collect();
    // Stored as "user:N:profile" on user:N's node: the rule ^(user:\d+): finds the tag again.
    let ruled: Vec<String> = (0..300)
        .map(|i| format!("user:{i}:profile{{user:{i}}}"))
        .collect();
    // Stored as "lost:N" on t's node: nothing in the stored name says where it belongs.
    let lost: Vec<String> = (0..30).map(|i| format!("lost:{i}{{t}}")).collect();
    for key in plain.iter().chain(&ruled).chain(&lost) {
        before
            .execute(&["SET", key, &format!("value of {key}")])
            .unwrap();
    }
    // A lost key is unplaceable unless its stored name hashes to the node it is on, under the
    // old config (it could have been written by name) or under the new one (it is in place).
    let grown = Cluster::new(five.clone()).unwrap();
    let unplaceable_lost = lost
        .iter()
        .filter(|k| {
            let stored = &k[..k.find('{').unwrap()];
            let on = before.node_for(k);
            before.node_for(stored) != on && grown.node_for(stored) != on
        })
        .count() as u64;
    let options = ReshardOptions {
        batch: 64,
        tag_rule: Some(regex::bytes::Regex::new(r"^(user:\d+):").unwrap()),
        ..ReshardOptions::default()
    };
    // A dry run changes nothing.
    let dry = reshard(
        &three,
        &five,
        &ReshardOptions {
            dry_run: true,
            ..options.clone()
        },
        &|_| {},
    )
    .unwrap();
    assert!(dry.moved > 0);
    assert_eq!(
        get(&before, &plain[0]),
        Value::BulkString(format!("value of {}", plain[0]).into_bytes())
    );

    let up = reshard(&three, &five, &options, &|_| {}).unwrap();
    // Keys that moved onto a node still being walked are seen there again (and stay).
    assert!(up.scanned >= 930);
    assert_eq!(up.unplaceable, unplaceable_lost);
    assert!(up.moved > 300, "3 -> 5 moves most keys: {up:?}");
    let after = Cluster::new(five.clone()).unwrap();
    for key in plain.iter().chain(&ruled) {
        assert_eq!(
            get(&after, key),
            Value::BulkString(format!("value of {key}").into_bytes()),
            "{key}"
        );
    }
    // Nothing was left behind: every key is on exactly one server.
    let total: i64 = servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(total, 930);

    let down = reshard(&five, &three, &options, &|_| {}).unwrap();
    assert_eq!(
        down.unplaceable, up.unplaceable,
        "the lost keys stayed where they were"
    );
    let back = Cluster::new(three).unwrap();
    for key in plain.iter().chain(&ruled) {
        assert_eq!(
            get(&back, key),
            Value::BulkString(format!("value of {key}").into_bytes()),
            "{key}"
        );
    }
    let on_new_nodes: i64 = servers[3..]
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(
        on_new_nodes as u64, 0,
        "5 -> 3 empties the two removed masters (but for unplaceable keys there)"
    );
}
