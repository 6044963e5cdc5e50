//! Server-wide commands with one merged answer: SCAN walking every master with one cursor,
//! RANDOMKEY from a non-empty node, SCRIPT LOAD's one sha.

mod support;

use std::collections::BTreeSet;

use cluster_core::{ClusterError, Value};
use redis::Commands;
use support::{cluster_of, slot, start_masters};

#[test]
fn scan_walks_every_master_exactly_once() {
    let servers = start_masters(slot::FAN_OUT, 3);
    let cluster = cluster_of(&servers);
    let mut con = cluster.handle();
    let mut stored = BTreeSet::new();
    for i in 0..300 {
        let key = if i % 10 == 0 {
            format!("key:{i}{{t{i}}}")
        } else {
            format!("key:{i}")
        };
        let _: () = con.set(&key, i).unwrap();
        stored.insert(if i % 10 == 0 { format!("key:{i}") } else { key });
    }
    let _: () = con.rpush("a-list", "x").unwrap();
    // Plain SCAN with a small COUNT: many calls, each node once, 0 at the end.
    let (mut cursor, mut seen, mut calls) = (0u64, Vec::new(), 0);
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("key:*")
            .arg("COUNT")
            .arg(7)
            .query(&mut con)
            .unwrap();
        seen.extend(keys);
        calls += 1;
        if next == 0 {
            break;
        }
        cursor = next;
        assert!(calls < 1000, "SCAN never ended");
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique, stored,
        "every key once per walk, under its stored name"
    );
    assert!(
        calls > 3,
        "COUNT 7 over 300 keys takes several calls, not {calls}"
    );
    // TYPE goes through to each node.
    let lists: Vec<String> = con
        .scan_options(redis::ScanOptions::default().with_type("list"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(lists, ["a-list"]);
    // redis-rs's own cursor iterator works on the handle.
    let all: BTreeSet<String> = con
        .scan_match::<_, String>("key:*")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all, stored);
    // A cursor nobody gave out.
    let err = cluster.execute(&["SCAN", "not-a-cursor"]).unwrap_err();
    assert!(
        matches!(err, ClusterError::Command(ref m) if m == "ERR invalid cursor"),
        "{err:?}"
    );
}

#[test]
fn randomkey_comes_from_a_non_empty_node_and_script_load_gives_one_sha() {
    let servers = start_masters(slot::FAN_OUT + 3, 3);
    let cluster = cluster_of(&servers);
    assert_eq!(
        cluster.execute(&["RANDOMKEY"]).unwrap(),
        Value::Nil,
        "an empty cluster"
    );
    let only = "lonely";
    let _ = cluster.execute(&["SET", only, "1"]).unwrap();
    for _ in 0..10 {
        let key: String =
            redis::from_redis_value(cluster.execute(&["RANDOMKEY"]).unwrap()).unwrap();
        assert_eq!(key, only, "the one key, whichever node holds it");
    }
    for i in 0..30 {
        let _ = cluster.execute(&["SET", &format!("k{i}"), "1"]).unwrap();
    }
    let picked: BTreeSet<String> = (0..60)
        .map(|_| redis::from_redis_value(cluster.execute(&["RANDOMKEY"]).unwrap()).unwrap())
        .collect();
    let nodes: BTreeSet<&str> = picked.iter().map(|k| cluster.node_for(k)).collect();
    assert!(
        nodes.len() > 1,
        "RANDOMKEY picks among the nodes: {nodes:?}"
    );

    let sha: String = redis::from_redis_value(
        cluster
            .execute(&["SCRIPT", "LOAD", "return KEYS[1]"])
            .unwrap(),
    )
    .unwrap();
    let direct: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return KEYS[1]")
        .query(&mut servers[0].connect())
        .unwrap();
    assert_eq!(sha, direct);
    // Loaded everywhere: EVALSHA works for a key on any node.
    for i in 0..10 {
        let key = format!("k{i}{{x}}");
        let back: String =
            redis::from_redis_value(cluster.execute(&["EVALSHA", &sha, "1", &key]).unwrap())
                .unwrap();
        assert_eq!(back, format!("k{i}"), "KEYS[1] arrives tag-stripped");
    }
}
