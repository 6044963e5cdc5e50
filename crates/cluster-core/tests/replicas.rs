//! Replicas against real servers: discovered through INFO replication or named in
//! `master_of`; reads answered by a replica (seen in the replica's own INFO commandstats),
//! writes by the master, `mastersonly`, and a dead replica falling back to its master. (That a
//! client is built without waiting for its replicas is in resilience/replica_health.rs.)

mod support;

use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterConfig, Value};
use redis::Commands;
use support::{RedisServer, config_of, execute_visited, key_on, port, slot};

/// Building a client does not wait for its replica check; these tests want replica reads
/// from the first read on, so they wait for it.
const CHECKED_WITHIN: Duration = Duration::from_secs(5);

/// Two masters (`slot + 0, 1`), each with one replica (`slot + 2, 3`).
fn two_masters_with_replicas(offset: u16) -> (Vec<RedisServer>, Vec<RedisServer>) {
    let masters: Vec<RedisServer> = (0..2)
        .map(|i| RedisServer::start(port(offset + i)))
        .collect();
    let replicas = masters
        .iter()
        .enumerate()
        .map(|(i, m)| RedisServer::start_replica(port(offset + 2 + i as u16), m.port))
        .collect();
    (masters, replicas)
}

/// Waits until the replica has the value (replication is asynchronous).
fn wait_replicated(replica: &RedisServer, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut con = replica.connect();
    while !con.exists::<_, bool>(key).unwrap() {
        assert!(
            Instant::now() < deadline,
            "{key} never reached replica {}",
            replica.port
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn discovered_replicas_answer_reads_and_masters_take_writes() {
    let (masters, replicas) = two_masters_with_replicas(slot::REPLICAS);
    let cluster = Cluster::new(ClusterConfig::from_value(&config_of(&masters)).unwrap()).unwrap();
    assert!(cluster.wait_for_replica_check(CHECKED_WITHIN));
    for (i, replica) in replicas.iter().enumerate() {
        let found = cluster.replicas_of(&format!("node_{}", i + 1));
        assert_eq!(found.len(), 1, "node_{} has one replica", i + 1);
        assert_eq!(found[0].port, replica.port);
        assert_eq!(found[0].host, "127.0.0.1");
    }
    let mut con = cluster.handle();
    let key = "user:1";
    let index = if cluster.node_for(key) == "node_1" {
        0
    } else {
        1
    };
    let _: () = con.set(key, "v1").unwrap();
    wait_replicated(&replicas[index], key);
    for s in masters.iter().chain(&replicas) {
        s.reset_stats();
    }
    for _ in 0..5 {
        let value: String = con.get(key).unwrap();
        assert_eq!(value, "v1");
    }
    let _: () = con.set(key, "v2").unwrap();
    assert_eq!(
        replicas[index].calls("get"),
        5,
        "reads answered by the replica"
    );
    assert_eq!(masters[index].calls("get"), 0, "no read reached the master");
    // (A replica counts replicated writes in its commandstats too, so only the master is asked.)
    assert_eq!(masters[index].calls("set"), 1, "writes go to the master");
}

#[test]
fn mastersonly_reads_from_masters() {
    let (masters, replicas) = two_masters_with_replicas(slot::REPLICAS + 4);
    let mut config = config_of(&masters);
    config["mastersonly"] = true.into();
    let cluster = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    let mut con = cluster.handle();
    let _: () = con.set("k", "v").unwrap();
    for s in masters.iter().chain(&replicas) {
        s.reset_stats();
    }
    let v: String = con.get("k").unwrap();
    assert_eq!(v, "v", "read-your-writes");
    assert_eq!(masters.iter().map(|m| m.calls("get")).sum::<u64>(), 1);
    assert_eq!(replicas.iter().map(|r| r.calls("get")).sum::<u64>(), 0);
}

#[test]
fn master_of_names_replicas_that_do_not_count_for_placement() {
    let (masters, replicas) = two_masters_with_replicas(slot::REPLICAS + 8);
    let config = serde_json::json!({
        "nodes": {
            "node_1": {"host": "127.0.0.1", "port": masters[0].port},
            "node_2": {"host": "127.0.0.1", "port": masters[1].port},
            "replica_a": {"host": "127.0.0.1", "port": replicas[0].port},
            "replica_b": {"host": "127.0.0.1", "port": replicas[1].port},
        },
        "master_of": {"node_1": "replica_a", "node_2": ["replica_b"]},
    });
    let cluster = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    assert!(cluster.wait_for_replica_check(CHECKED_WITHIN));
    assert_eq!(cluster.masters().len(), 2, "replicas are not masters");
    assert_eq!(
        cluster.node_for("foo"),
        "node_2",
        "the seed's placement with 2 masters"
    );
    assert_eq!(cluster.replicas_of("node_1")[0].name, "replica_a");
    let mut con = cluster.handle();
    let _: () = con.set("foo", "x").unwrap();
    wait_replicated(&replicas[1], "foo");
    replicas[1].reset_stats();
    let v: String = con.get("foo").unwrap();
    assert_eq!(v, "x");
    assert_eq!(replicas[1].calls("get"), 1, "replica_b answered for node_2");
}

#[test]
fn a_dead_replica_sends_reads_back_to_its_master() {
    let (masters, mut replicas) = two_masters_with_replicas(slot::REPLICAS + 12);
    let cluster = Cluster::new(ClusterConfig::from_value(&config_of(&masters)).unwrap()).unwrap();
    assert!(cluster.wait_for_replica_check(CHECKED_WITHIN));
    let mut con = cluster.handle();
    let keys: Vec<String> = (0..20).map(|i| format!("key{i}")).collect();
    for key in &keys {
        let _: () = con.set(key, key).unwrap();
    }
    for key in &keys {
        let index = if cluster.node_for(key) == "node_1" {
            0
        } else {
            1
        };
        wait_replicated(&replicas[index], key);
    }
    // Use the replica connections once so the pool holds connections that are about to die.
    let _: String = con.get(&keys[0]).unwrap();
    let mget: Vec<&str> = std::iter::once("MGET")
        .chain(keys.iter().map(String::as_str))
        .collect();
    let every_value = Value::Array(
        keys.iter()
            .map(|k| Value::BulkString(k.clone().into_bytes()))
            .collect(),
    );
    assert_eq!(execute_visited(&cluster, &mget).unwrap(), every_value);
    replicas[0].stop();
    replicas[1].stop();
    for key in &keys {
        let value: String = con.get(key).unwrap();
        assert_eq!(&value, key, "reads still right with the replicas gone");
    }
    // A split read element by element falls back to the masters too.
    assert_eq!(execute_visited(&cluster, &mget).unwrap(), every_value);
    // Writes never went anywhere else, and still work.
    let n: i64 = con.incr("counter", 1).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn a_replica_added_later_is_found_by_discovering_again() {
    let master = RedisServer::start(port(slot::REPLICAS + 16));
    let cluster =
        Cluster::new(ClusterConfig::from_value(&config_of(std::slice::from_ref(&master))).unwrap())
            .unwrap();
    assert!(cluster.replicas_of("node_1").is_empty());
    let replica = RedisServer::start_replica(port(slot::REPLICAS + 17), master.port);
    cluster.discover_replicas().unwrap();
    assert_eq!(cluster.replicas_of("node_1")[0].port, replica.port);
    let mut con = cluster.handle();
    let _: () = con.set("k", "v").unwrap();
    wait_replicated(&replica, "k");
    replica.reset_stats();
    let v: String = con.get("k").unwrap();
    assert_eq!(v, "v");
    assert_eq!(replica.calls("get"), 1, "the new replica answers reads");
}

#[test]
fn a_split_read_is_answered_by_each_masters_replica() {
    let (masters, replicas) = two_masters_with_replicas(slot::REPLICAS + 18);
    let cluster = Cluster::new(ClusterConfig::from_value(&config_of(&masters)).unwrap()).unwrap();
    assert!(cluster.wait_for_replica_check(CHECKED_WITHIN));
    let on = |node: &str| key_on(&cluster, node);
    let (a, b) = (on("node_1"), on("node_2"));
    let mut con = cluster.handle();
    let _: () = con.mset(&[(&a, "1"), (&b, "2")]).unwrap();
    wait_replicated(&replicas[0], &a);
    wait_replicated(&replicas[1], &b);
    for s in masters.iter().chain(&replicas) {
        s.reset_stats();
    }
    let values: Vec<String> = con.mget(&[&b, &a]).unwrap();
    assert_eq!(values, ["2", "1"]);
    assert_eq!(
        (replicas[0].calls("mget"), replicas[1].calls("mget")),
        (1, 1)
    );
    let visited = execute_visited(&cluster, &["MGET", &b, &a]).unwrap();
    assert_eq!(
        visited,
        Value::Array(vec![
            Value::BulkString(b"2".to_vec()),
            Value::BulkString(b"1".to_vec())
        ])
    );
    assert_eq!(
        (replicas[0].calls("mget"), replicas[1].calls("mget")),
        (2, 2),
        "read element by element, on the replicas too"
    );
    assert_eq!(masters.iter().map(|m| m.calls("mget")).sum::<u64>(), 0);
}
