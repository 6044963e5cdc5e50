//! A dead or stopped node: its own keys fail fast and name it, the other nodes do not slow
//! down, nothing waits longer than the read timeout (+10 %), and the node is used again once
//! it is back.

use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterConfig, ClusterError};
use redis::Commands;

use crate::support::{RedisServer, config_of, key_on, port, slot, take_turns};

fn cluster_with(servers: &[RedisServer], extra: serde_json::Value) -> Cluster {
    let mut config = config_of(servers);
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap()
}

#[test]
fn a_stopped_node_fails_within_the_read_timeout_then_at_once_and_recovers() {
    let _turn = take_turns();
    let servers: Vec<RedisServer> = (0..2)
        .map(|i| RedisServer::start(port(slot::SHARED + i)))
        .collect();
    let read_timeout = Duration::from_millis(500);
    let cluster = cluster_with(&servers, serde_json::json!({"socket_timeout": 0.5}));
    let (healthy_key, stopped_key) = (key_on(&cluster, "node_1"), key_on(&cluster, "node_2"));
    let mut con = cluster.handle();
    let _: () = con.set(&healthy_key, "up").unwrap();
    let _: () = con.set(&stopped_key, "frozen").unwrap();

    servers[1].pause();
    // Eight callers at once, each on its own connection: each waits one timeout, not two (the
    // margin is for a loaded 2-core CI machine; a second wait would take it past 1.5×).
    let started = Instant::now();
    let waits: Vec<(Duration, ClusterError)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let started = Instant::now();
                    let err = cluster.execute(&["GET", stopped_key.as_str()]).unwrap_err();
                    (started.elapsed(), err)
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for (waited, err) in &waits {
        assert!(
            *waited < read_timeout.mul_f64(1.5),
            "waited {waited:?}: {err}"
        );
        assert_eq!(err.node(), Some("node_2"), "{err}");
        assert!(err.to_string().contains(&servers[1].addr()), "{err}");
    }
    assert!(started.elapsed() < read_timeout.mul_f64(1.5) + Duration::from_millis(100));

    // The healthy node is not slowed down meanwhile.
    let started = Instant::now();
    for _ in 0..100 {
        let v: String = con.get(&healthy_key).unwrap();
        assert_eq!(v, "up");
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Once the liveness check has failed too, calls fail at once (and still name the node).
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let started = Instant::now();
        let err = cluster.execute(&["GET", stopped_key.as_str()]).unwrap_err();
        assert_eq!(err.node(), Some("node_2"));
        if started.elapsed() < Duration::from_millis(50) {
            assert!(err.to_string().contains("fail at once"), "{err}");
            break;
        }
        assert!(Instant::now() < deadline, "never failed fast: {err}");
    }

    servers[1].resume();
    let deadline = Instant::now() + Duration::from_secs(3);
    let value: String = loop {
        match con.get(&stopped_key) {
            Ok(value) => break value,
            Err(e) => assert!(Instant::now() < deadline, "node_2 not used again: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        value, "frozen",
        "same node, same data: nothing was re-mapped"
    );
}

#[test]
fn a_dead_node_backs_off_and_is_used_again_when_it_returns() {
    let _turn = take_turns();
    let mut servers: Vec<RedisServer> = (0..2)
        .map(|i| RedisServer::start(port(slot::SHARED + i)))
        .collect();
    let cluster = cluster_with(&servers, serde_json::json!({}));
    let dead_key = key_on(&cluster, "node_2");
    let _: () = cluster.handle().set(&dead_key, "before").unwrap();
    servers[1].stop();

    let first = cluster.execute(&["GET", dead_key.as_str()]).unwrap_err();
    assert!(
        matches!(first, ClusterError::Connection { .. }),
        "{first:?}"
    );
    // Within the back-off: at once, with the cause.
    let started = Instant::now();
    let again = cluster
        .execute(&["SET", dead_key.as_str(), "x"])
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(250));
    let text = again.to_string();
    assert!(
        text.contains("node_2") && text.contains(&servers[1].addr()) && text.contains("refused"),
        "{text}"
    );

    servers[1].restart();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match cluster.execute(&["SET", dead_key.as_str(), "after"]) {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "not used again: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let direct: String = servers[1].connect().get(&dead_key).unwrap();
    assert_eq!(direct, "after", "written to node_2 itself");
}

#[test]
fn a_command_longer_than_the_read_timeout_does_not_back_the_node_off() {
    let _turn = take_turns();
    let server = RedisServer::start(port(slot::SHARED));
    let cluster = cluster_with(
        std::slice::from_ref(&server),
        serde_json::json!({"socket_timeout": 0.2}),
    );
    let err = cluster.execute(&["BLPOP", "nothing", "2"]).unwrap_err();
    assert!(matches!(err, ClusterError::Timeout { .. }), "{err:?}");
    // The server still answers a PING, so calls go on normally.
    std::thread::sleep(Duration::from_millis(400));
    for i in 0..20 {
        cluster
            .execute(&["SET", "k", &i.to_string()])
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
}
