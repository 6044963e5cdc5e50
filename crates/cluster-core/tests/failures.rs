//! A master that is down: its keys fail with an error naming it, the other masters keep
//! serving, and it is used again once it is back — with no re-mapping of keys, ever.

mod support;

use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterConfig, ClusterError};
use redis::Commands;
use support::{RedisServer, cluster_of, key_on, port, slot, start_masters};

#[test]
fn a_down_master_fails_its_own_keys_only_and_recovers() {
    let mut servers = start_masters(slot::FAILURES, 3);
    let cluster = cluster_of(&servers);
    let mut con = cluster.handle();
    let keys: Vec<String> = (0..60).map(|i| format!("key{i}")).collect();
    for key in &keys {
        let _: () = con.set(key, key).unwrap();
    }
    let down_addr = servers[1].addr();
    servers[1].stop();

    for key in &keys {
        let node = cluster.node_for(key).to_owned();
        let result = cluster.execute(&["GET", key.as_str()]);
        if node == "node_2" {
            let err = result.expect_err("node_2 is down");
            assert!(matches!(err, ClusterError::Connection { .. }), "{err:?}");
            let text = err.to_string();
            assert!(
                text.contains("node_2") && text.contains(&down_addr),
                "{text}"
            );
            let write = cluster
                .execute(&["SET", key.as_str(), "new"])
                .expect_err("writes fail too");
            assert_eq!(write.node(), Some("node_2"));
        } else {
            let value: String =
                redis::from_redis_value(result.expect("other nodes keep working")).unwrap();
            assert_eq!(&value, key);
        }
    }
    // A fan-out command names the missing node instead of giving a partial answer.
    let err = cluster.execute(&["DBSIZE"]).unwrap_err();
    assert_eq!(err.node(), Some("node_2"));

    // Back (empty, it had no persistence): used again by the same client, same placement.
    servers[1].restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    let on_node2 = keys
        .iter()
        .find(|k| cluster.node_for(k) == "node_2")
        .unwrap();
    loop {
        match con.set::<_, _, ()>(on_node2, "again") {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "node_2 not used again: {e}"),
        }
    }
    let back: String = con.get(on_node2).unwrap();
    assert_eq!(back, "again");
    let direct: String = servers[1].connect().get(on_node2).unwrap();
    assert_eq!(
        direct, "again",
        "the key went back to node_2, not elsewhere"
    );
}

#[test]
fn an_unreachable_node_at_start_does_not_stop_the_cluster() {
    let up = RedisServer::start(port(slot::FAILURES + 3));
    // Nothing listens on this port: it is ours, and we never start it.
    let absent = port(slot::FAILURES + 4);
    let cluster = Cluster::from_nodes([
        ("node_1", up.addr()),
        ("node_2", format!("127.0.0.1:{absent}")),
    ])
    .unwrap();
    let (key_on_1, key_on_2) = (key_on(&cluster, "node_1"), key_on(&cluster, "node_2"));
    let _: () = cluster.handle().set(&key_on_1, 1).unwrap();
    let started = Instant::now();
    let err = cluster.execute(&["GET", key_on_2.as_str()]).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused connection fails fast"
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{absent}")),
        "{err}"
    );
}

#[test]
fn a_read_timeout_fails_the_call_in_time_and_the_next_call_works() {
    let server = RedisServer::start(port(slot::FAILURES + 5));
    let config = serde_json::json!({"nodes": {"node_1": {
        "host": "127.0.0.1", "port": server.port, "socket_timeout": 0.3,
    }}});
    let cluster = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    let started = Instant::now();
    // BLPOP blocks for 5 s on the server; the client gives up after 0.3 s.
    let err = cluster.execute(&["BLPOP", "empty-list", "5"]).unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, ClusterError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains(&server.addr()), "{err}");
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1500),
        "failed after {waited:?}"
    );
    // The timed-out connection was dropped: the next call gets a fresh one and its own reply.
    let _ = cluster.execute(&["SET", "k", "v"]).unwrap();
    let value: String = redis::from_redis_value(cluster.execute(&["GET", "k"]).unwrap()).unwrap();
    assert_eq!(value, "v");
}
