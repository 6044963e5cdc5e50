//! Replicas serve reads only while healthy (link up, lag within `max_replica_lag`), checked in
//! the background; replicas that appear or disappear later are noticed without a restart.

use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterConfig};
use redis::Commands;

use crate::support::{RedisServer, port, slot, take_turns};

/// Waits until `check` holds, polling; fails with `what` after 5 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn fast_checks(nodes: serde_json::Value, master_of: Option<serde_json::Value>) -> Cluster {
    let mut config = serde_json::json!({
        "nodes": nodes, "replica_check_interval": 0.1, "max_replica_lag": 1.0,
    });
    if let Some(master_of) = master_of {
        config["master_of"] = master_of;
    }
    Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap()
}

fn node(server: &RedisServer) -> serde_json::Value {
    serde_json::json!({"host": "127.0.0.1", "port": server.port})
}

/// Waits until the replica holds `key` (replication is asynchronous: a replica read right
/// after a write may miss it, which is what replica reads promise).
fn wait_replicated(replica: &RedisServer, key: &str) {
    let mut direct = replica.connect();
    eventually("replicated", || direct.exists::<_, bool>(key).unwrap());
}

/// Reads `key` through the cluster and says whether the replica answered it.
fn replica_answers(cluster: &Cluster, replica: &RedisServer, key: &str) -> bool {
    let before = replica.calls("get");
    let value: Option<String> =
        redis::from_redis_value(cluster.execute(&["GET", key]).unwrap()).unwrap();
    assert_eq!(
        value.as_deref(),
        Some("v"),
        "never a wrong or missing value"
    );
    replica.calls("get") > before
}

#[test]
fn a_replica_whose_link_is_down_is_not_read_until_it_is_back() {
    let _turn = take_turns();
    let master = RedisServer::start(port(slot::SHARED));
    let replica = RedisServer::start_replica(port(slot::SHARED + 1), master.port);
    // Named in master_of, so it stays configured while its link is down.
    let cluster = fast_checks(
        serde_json::json!({"node_1": node(&master), "replica": node(&replica)}),
        Some(serde_json::json!({"node_1": "replica"})),
    );
    let _: () = cluster.handle().set("k", "v").unwrap();
    wait_replicated(&replica, "k");
    eventually("the replica answers", || {
        replica_answers(&cluster, &replica, "k")
    });

    // Cut its link: it still answers PING and holds the old data, but must not be read.
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(port(slot::SHARED + 2))
        .query(&mut replica.connect())
        .unwrap();
    eventually("the replica is judged unhealthy", || {
        !cluster.replica_health_of("node_1")[0].1
    });
    let _: () = cluster.handle().set("k2", "v").unwrap();
    for _ in 0..20 {
        assert!(
            !replica_answers(&cluster, &replica, "k"),
            "read from a cut-off replica"
        );
        assert!(!replica_answers(&cluster, &replica, "k2"));
    }

    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query(&mut replica.connect())
        .unwrap();
    wait_replicated(&replica, "k2");
    eventually("the replica answers again", || {
        replica_answers(&cluster, &replica, "k2")
    });
}

#[test]
fn replicas_that_appear_or_vanish_later_are_noticed() {
    let _turn = take_turns();
    let master = RedisServer::start(port(slot::SHARED));
    let cluster = fast_checks(serde_json::json!({"node_1": node(&master)}), None);
    assert!(cluster.replicas_of("node_1").is_empty());
    let _: () = cluster.handle().set("k", "v").unwrap();

    let mut replica = RedisServer::start_replica(port(slot::SHARED + 1), master.port);
    wait_replicated(&replica, "k");
    eventually("the new replica is found and healthy", || {
        cluster
            .replica_health_of("node_1")
            .iter()
            .any(|(c, ok)| c.port == replica.port && *ok)
    });
    eventually("the new replica answers", || {
        replica_answers(&cluster, &replica, "k")
    });

    replica.stop();
    // Reads keep working throughout (the master answers), and the replica is dropped.
    eventually("the replica is gone", || {
        let _ = replica_answers_or_master(&cluster);
        cluster.replicas_of("node_1").is_empty()
    });
}

fn replica_answers_or_master(cluster: &Cluster) -> String {
    redis::from_redis_value(cluster.execute(&["GET", "k"]).expect("the master answers")).unwrap()
}

#[test]
fn a_lagging_replica_is_not_read() {
    let _turn = take_turns();
    let master = RedisServer::start(port(slot::SHARED));
    let replica = RedisServer::start_replica(port(slot::SHARED + 1), master.port);
    let cluster = fast_checks(serde_json::json!({"node_1": node(&master)}), None);
    let _: () = cluster.handle().set("k", "v").unwrap();
    wait_replicated(&replica, "k");
    eventually("the replica answers", || {
        replica_answers(&cluster, &replica, "k")
    });
    // Freeze the replica's replication: it stays connected and answers, but applies nothing.
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(8000)
        .arg("WRITE")
        .query(&mut replica.connect())
        .unwrap();
    let started = Instant::now();
    let mut con = cluster.handle();
    // Writes keep the master's offset moving while the replica's stands still.
    // Expected after max_replica_lag + about one interval (1.1 s); the bound leaves room for a
    // loaded CI machine and is still well inside the pause.
    eventually("the lagging replica is judged unhealthy", || {
        let _: () = con
            .set("tick", started.elapsed().as_millis() as u64)
            .unwrap();
        !cluster.replica_health_of("node_1")[0].1
    });
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "noticed after {:?}",
        started.elapsed()
    );
}

/// Threads of this process whose name starts with `prefix` (Linux truncates names to 15
/// bytes).
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

#[test]
fn a_dropped_client_stops_its_checks_at_once() {
    let _turn = take_turns();
    let master = RedisServer::start(port(slot::SHARED));
    let config = serde_json::json!({
        "nodes": {"node_1": node(&master)},
        "replica_check_interval": 30, "max_replica_lag": 60,
    });
    // The earlier tests' clients are gone (their last checks may still be finishing).
    eventually("no checker thread left", || {
        threads_named("rediscluster-re") == 0
    });
    let clients: Vec<Cluster> = (0..20)
        .map(|_| Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap())
        .collect();
    // A new thread names itself once it runs.
    eventually("a checker thread per client", || {
        threads_named("rediscluster-re") == 20
    });
    drop(clients);
    // Not after the 30 s interval: now (a PHP request's client must not leave a thread).
    let dropped = Instant::now();
    eventually("the checker threads end", || {
        threads_named("rediscluster-re") == 0
    });
    assert!(dropped.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_replica_that_fails_a_read_is_checked_again_at_once() {
    let _turn = take_turns();
    let master = RedisServer::start(port(slot::SHARED));
    let mut replica = RedisServer::start_replica(port(slot::SHARED + 1), master.port);
    // The replica in sync before the client is built: its first check (in the background,
    // just after) must find it online, since the next one is 30 s away.
    let _: () = master.connect().set("k", "v").unwrap();
    wait_replicated(&replica, "k");
    let config = serde_json::json!({
        "nodes": {"node_1": node(&master)},
        "replica_check_interval": 30, "max_replica_lag": 60,
    });
    let cluster = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    eventually("the replica answers", || {
        replica_answers(&cluster, &replica, "k")
    });
    replica.stop();
    // The read fails on the replica and is answered by the master...
    assert_eq!(replica_answers_or_master(&cluster), "v");
    // ...and the replicas are re-discovered now, not 30 s later.
    eventually("the dead replica is dropped", || {
        cluster.replicas_of("node_1").is_empty()
    });
}

#[test]
fn a_client_is_built_without_waiting_for_its_replica_check() {
    let _turn = take_turns();
    let master = RedisServer::start(port(slot::SHARED));
    let replica = RedisServer::start_replica(port(slot::SHARED + 1), master.port);
    let _: () = master.connect().set("k", "v").unwrap();
    wait_replicated(&replica, "k");
    // The replica answers nothing for 600 ms: a check of it waits that long.
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(600)
        .arg("ALL")
        .query(&mut replica.connect())
        .unwrap();
    let started = Instant::now();
    let cluster = Cluster::new(
        ClusterConfig::from_value(&serde_json::json!({
            "nodes": {"node_1": node(&master), "replica": node(&replica)},
            "master_of": {"node_1": "replica"},
        }))
        .unwrap(),
    )
    .unwrap();
    // Not vouched for yet: the master answers, at once.
    let before = master.calls("get");
    assert_eq!(replica_answers_or_master(&cluster), "v");
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "built and read in {:?}",
        started.elapsed()
    );
    assert_eq!(master.calls("get"), before + 1, "the master answered");
    assert!(!cluster.replica_health_of("node_1")[0].1);
    // Once checked, the replica serves reads.
    assert!(cluster.wait_for_replica_check(Duration::from_secs(5)));
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(cluster.replica_health_of("node_1")[0].1);
    assert!(replica_answers(&cluster, &replica, "k"));
}
