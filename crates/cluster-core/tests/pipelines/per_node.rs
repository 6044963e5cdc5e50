//! Per-node transactions (`cross_node_transactions: "per_node"`): a transaction over keys on
//! several masters runs one MULTI/EXEC per master, replies in the caller's order; a command a
//! master refuses to queue applies nothing anywhere; under WATCH the watched master's EXEC
//! decides first (aborted: nothing applied anywhere); a master failing at EXEC after others
//! committed is a `Partial` error naming the ones that committed. The default still refuses.
//!
//! A module of the `pipelines` test binary, on its slot's three ports (see `watch.rs`).

use std::time::Duration;

use cluster_core::{Cluster, ClusterConfig, ClusterError, Value};

use crate::support::{RedisServer, cluster_of, config_of, key_on, slot, start_masters, take_turns};

fn command(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

fn bulk(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

fn per_node_cluster(servers: &[RedisServer], extra: &[(&str, serde_json::Value)]) -> Cluster {
    let mut config = config_of(servers);
    config["mastersonly"] = true.into();
    config["cross_node_transactions"] = "per_node".into();
    for (name, value) in extra {
        config[*name] = value.clone();
    }
    Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap()
}

/// The three keys `k…` on node_1, node_2, node_3.
fn keys_on_each(cluster: &Cluster) -> (String, String, String) {
    (
        key_on(cluster, "node_1"),
        key_on(cluster, "node_2"),
        key_on(cluster, "node_3"),
    )
}

#[test]
fn one_multi_exec_per_master_with_replies_in_the_callers_order() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let (a, b, c) = keys_on_each(&cluster_of(&servers));

    // The default refuses, nothing sent.
    let refusing = cluster_of(&servers);
    let err = refusing
        .transaction(&[command(&["SET", &a, "1"]), command(&["SET", &b, "2"])])
        .unwrap_err();
    assert!(matches!(err, ClusterError::CrossNode { .. }), "{err:?}");
    assert_eq!(
        refusing.execute(&["EXISTS", &a, &b]).unwrap(),
        Value::Int(0)
    );

    let cluster = per_node_cluster(&servers, &[]);
    servers.iter().for_each(RedisServer::reset_stats);
    let exec = cluster
        .transaction(&[
            command(&["SET", &a, "1"]),
            command(&["INCR", &b]),
            command(&["RPUSH", "list{t}", "x"]),
            command(&["INCRBY", &a, "10"]),
            command(&["SET", &c, "3"]),
            command(&["LPUSH", &c, "wrong type"]), // a runtime error stays in place
            command(&["PING"]),                    // no key: runs on the first key's master
            command(&["GET", &b]),
        ])
        .unwrap();
    let Value::Array(replies) = exec else {
        panic!("EXEC's array, got {exec:?}")
    };
    assert_eq!(replies[0], Value::Okay);
    assert_eq!(replies[1], Value::Int(1));
    assert_eq!(replies[2], Value::Int(1));
    assert_eq!(replies[3], Value::Int(11));
    assert_eq!(replies[4], Value::Okay);
    assert!(matches!(&replies[5], Value::ServerError(e) if e.code() == "WRONGTYPE"));
    assert!(matches!(&replies[6], Value::SimpleString(s) if s == "PONG"));
    assert_eq!(replies[7], bulk("1"));
    assert_eq!(replies.len(), 8);
    for server in &servers {
        assert_eq!(server.calls("multi"), 1, "one MULTI on {}", server.port);
        assert_eq!(server.calls("exec"), 1, "one EXEC on {}", server.port);
    }

    // A command whose own keys are on several masters cannot be in one master's MULTI/EXEC.
    let err = cluster
        .transaction(&[
            command(&["SET", "x{t}", "1"]),
            command(&["MSET", &a, "5", &b, "6"]),
        ])
        .unwrap_err();
    assert!(
        matches!(&err, ClusterError::CrossNode { command, .. } if command == "mset"),
        "{err:?}"
    );
    assert_eq!(cluster.execute(&["GET", "x{t}"]).unwrap(), Value::Nil);
}

#[test]
fn a_command_one_master_refuses_to_queue_applies_nothing_anywhere() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = per_node_cluster(&servers, &[]);
    let (a, b, c) = keys_on_each(&cluster);
    // node_2 refuses writes at queue time (OOM): its EXEC answers EXECABORT.
    let mut node_2 = servers[1].connect();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query(&mut node_2)
        .unwrap();
    let err = cluster
        .transaction(&[
            command(&["SET", &a, "1"]),
            command(&["SET", &b, "2"]),
            command(&["SET", &c, "3"]),
        ])
        .unwrap_err();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query(&mut node_2)
        .unwrap();
    assert!(
        matches!(&err, ClusterError::Server { node, error } if node == "node_2" && error.code() == "EXECABORT"),
        "{err:?}"
    );
    assert_eq!(
        cluster.execute(&["EXISTS", &a, &b, &c]).unwrap(),
        Value::Int(0),
        "nothing applied on any master"
    );
    // The held connections went back clean: the next transaction applies everywhere.
    let exec = cluster
        .transaction(&[command(&["SET", &a, "1"]), command(&["SET", &c, "3"])])
        .unwrap();
    assert_eq!(exec, Value::Array(vec![Value::Okay, Value::Okay]));
}

#[test]
fn under_watch_the_watched_master_decides_first() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = per_node_cluster(&servers, &[]);
    let (a, b, c) = keys_on_each(&cluster);

    // A watched key changed: the watched master aborts, the others are discarded.
    let watch = cluster.watch(&[a.as_str()]).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&a)
        .arg("changed")
        .query(&mut servers[0].connect())
        .unwrap();
    let exec = watch
        .transaction(&[command(&["SET", &b, "2"]), command(&["SET", &c, "3"])])
        .unwrap();
    assert_eq!(exec, Value::Nil);
    assert_eq!(cluster.execute(&["EXISTS", &b, &c]).unwrap(), Value::Int(0));

    // Unchanged: every master applies its part, in the caller's order.
    let mut watch = cluster.watch(&[a.as_str()]).unwrap();
    assert_eq!(watch.execute(&["GET", &a]).unwrap(), bulk("changed"));
    let exec = watch
        .transaction(&[
            command(&["SET", &b, "2"]),
            command(&["SET", &a, "mine"]),
            command(&["INCR", &c]),
        ])
        .unwrap();
    assert_eq!(
        exec,
        Value::Array(vec![Value::Okay, Value::Okay, Value::Int(1)])
    );
    assert_eq!(
        cluster.execute(&["MGET", &a, &b, &c]).unwrap(),
        Value::Array(vec![bulk("mine"), bulk("2"), bulk("1")])
    );
    // No connection in the pools still watches: a change to `a` aborts nothing now.
    let _: () = redis::cmd("SET")
        .arg(&a)
        .arg("again")
        .query(&mut servers[0].connect())
        .unwrap();
    for round in 1..=3 {
        let exec = cluster
            .transaction(&[command(&["SET", &a, "x"]), command(&["INCR", &c])])
            .unwrap();
        assert_eq!(exec, Value::Array(vec![Value::Okay, Value::Int(1 + round)]));
    }
}

#[test]
fn a_master_failing_at_exec_after_others_committed_is_a_partial_error_naming_them() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = per_node_cluster(&servers, &[("socket_timeout", 0.3.into())]);
    let (a, b, c) = keys_on_each(&cluster);
    // Queued fine on node_2, but its EXEC runs a script busy for a second: past the read
    // timeout, while node_1 and node_3 commit.
    let busy = "local t0 = redis.call('TIME') \
                while (redis.call('TIME')[1] - t0[1]) * 1000000 + redis.call('TIME')[2] - t0[2] < 1000000 do end \
                return redis.call('SET', KEYS[1], 'late')";
    let err = cluster
        .transaction(&[
            command(&["SET", &a, "1"]),
            command(&["EVAL", busy, "1", &b]),
            command(&["SET", &c, "3"]),
        ])
        .unwrap_err();
    match &err {
        ClusterError::Partial {
            failed, applied, ..
        } => {
            assert_eq!(applied, &["node_1", "node_3"]);
            assert_eq!(failed.len(), 1);
            assert!(
                matches!(&failed[0], ClusterError::Timeout { node, .. } if node == "node_2"),
                "{failed:?}"
            );
        }
        other => panic!("a Partial error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("node_1, node_3") && message.contains("per-node"),
        "{message}"
    );
    // node_2 timed out, so the client rests it until it answers a PING again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let values = loop {
        match cluster.execute(&["MGET", &a, &b, &c]) {
            Ok(values) => break values,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(error) => panic!("node_2 never came back: {error}"),
        }
    };
    assert_eq!(
        values,
        Value::Array(vec![bulk("1"), bulk("late"), bulk("3")]),
        "committed parts stay; node_2's ran late: its part was in doubt"
    );
}
