//! Pooled connections the server closed while they sat idle (its `timeout`, CLIENT KILL, a
//! restart, a TLS session ended): the next calls of every kind succeed at once, on new
//! connections, and no command runs twice (nothing had been written to a closed connection).

use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterConfig, Value};

use super::security::{certs, tls_client_config, tls_server};
use crate::support::{RedisServer, config_of, key_on, port, slot, take_turns};

fn cluster_with(config: serde_json::Value) -> Cluster {
    let mut config = config;
    config["mastersonly"] = true.into();
    // A call that met a dead connection would wait for this, or fail: neither may happen.
    config["socket_timeout"] = 5.into();
    Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap()
}

fn line(words: &str) -> Vec<String> {
    words.split(' ').map(str::to_owned).collect()
}

fn int(value: Value) -> i64 {
    match value {
        Value::Int(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// Fills the pools with several idle connections per master (calls from several threads at
/// once each take their own connection).
fn warm(cluster: &Cluster) {
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                for _ in 0..20 {
                    cluster.execute(&["DBSIZE"]).unwrap();
                }
            });
        }
    });
}

/// Every kind of call once, each succeeding, all quickly. `counter` is INCRed once per master
/// and per call kind: `round` is what each INCR must answer (a command run twice would answer
/// more).
fn every_kind_of_call(cluster: &Cluster, keys: &[String], round: i64) {
    let started = Instant::now();
    let ask = |words: &[&str]| {
        cluster
            .execute(words)
            .unwrap_or_else(|e| panic!("{words:?}: {e}"))
    };
    // Single node, writes and reads.
    for key in keys {
        assert_eq!(int(ask(&["INCR", &format!("{key}:single")])), round);
        ask(&["GET", key]);
    }
    // Split over every master.
    let mut mset = vec!["MSET"];
    for key in keys {
        mset.extend([key.as_str(), "v"]);
    }
    assert_eq!(ask(&mset), Value::Okay);
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    assert!(matches!(ask(&mget), Value::Array(values) if values.len() == keys.len()));
    // Every master at once.
    ask(&["PING"]);
    ask(&["DBSIZE"]);
    // A pipeline: a batch per master.
    let pipeline: Vec<Vec<String>> = keys
        .iter()
        .map(|k| vec!["INCR".to_owned(), format!("{k}:pipeline")])
        .collect();
    for reply in cluster.pipeline(&pipeline).unwrap() {
        assert_eq!(int(reply.unwrap()), round, "pipeline");
    }
    // A transaction on one master.
    let key = &keys[0];
    let transaction = vec![
        line(&format!("INCR {key}:transaction")),
        line(&format!("GET {key}:transaction")),
    ];
    let Value::Array(exec) = cluster.transaction(&transaction).unwrap() else {
        panic!("EXEC's array")
    };
    assert_eq!(exec[0], Value::Int(round), "transaction");
    // An emulation over several masters (reads then writes on masters).
    if keys.len() > 1 {
        let sources: Vec<String> = keys.iter().map(|k| format!("{k}:set")).collect();
        for source in &sources {
            ask(&["SADD", source, "member"]);
        }
        let destination = format!("{}:union", keys[0]);
        let mut union = vec!["SUNIONSTORE", destination.as_str()];
        union.extend(sources.iter().map(String::as_str));
        assert_eq!(ask(&union), Value::Int(1));
    }
    // A connection setting, taken by a connection of every master now.
    ask(&["CLIENT", "SETNAME", "stale-test"]);
    for (node, reply) in cluster.execute_on_all(&["PING"]) {
        reply.unwrap_or_else(|e| panic!("{node}: {e}"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "every call at once, not after a timeout: {:?}",
        started.elapsed()
    );
}

/// How many times each server ran `command`, in all.
fn calls(servers: &[RedisServer], command: &str) -> u64 {
    servers.iter().map(|s| s.calls(command)).sum()
}

#[test]
fn connections_closed_while_idle_are_replaced_before_use() {
    let _turn = take_turns();
    let mut servers: Vec<RedisServer> = (0..3)
        .map(|i| RedisServer::start(port(slot::SHARED + i)))
        .collect();
    let cluster = cluster_with(config_of(&servers));
    let keys: Vec<String> = (1..=3)
        .map(|n| key_on(&cluster, &format!("node_{n}")))
        .collect();
    warm(&cluster);
    every_kind_of_call(&cluster, &keys, 1);

    // The servers' idle timeout closes every pooled connection.
    for server in &servers {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("timeout")
            .arg(1)
            .query(&mut server.connect())
            .unwrap();
        server.reset_stats();
    }
    std::thread::sleep(Duration::from_millis(2500));
    every_kind_of_call(&cluster, &keys, 2);
    // One MSET per master, once: nothing was sent twice.
    assert_eq!(calls(&servers, "mset"), 3);
    // Three sources filled, one destination written by the emulation (SUNIONSTORE itself never
    // reaches a server: its keys live on several).
    assert_eq!(calls(&servers, "sadd"), 4);

    // An operator's CLIENT KILL of every normal client.
    for server in &servers {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("timeout")
            .arg(0)
            .query(&mut server.connect())
            .unwrap();
    }
    warm(&cluster);
    for server in &servers {
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .query(&mut server.connect())
            .unwrap();
        assert!(
            killed > 0,
            "the client's idle connections were there to kill"
        );
    }
    every_kind_of_call(&cluster, &keys, 3);

    // Every server restarted (empty) while the client was idle.
    for server in &mut servers {
        server.stop();
        server.restart();
    }
    every_kind_of_call(&cluster, &keys, 1);
}

#[test]
fn a_tls_session_the_server_ended_is_replaced() {
    let _turn = take_turns();
    let dir = certs();
    let server = tls_server(&dir, port(slot::SHARED), &["--timeout", "1"]);
    let cluster = cluster_with(tls_client_config(&dir, &server));
    let key = key_on(&cluster, "node_1");
    warm(&cluster);
    every_kind_of_call(&cluster, std::slice::from_ref(&key), 1);
    std::thread::sleep(Duration::from_millis(2500));
    every_kind_of_call(&cluster, std::slice::from_ref(&key), 2);
}

#[test]
fn a_subscription_survives_a_restart_of_its_master() {
    let _turn = take_turns();
    let mut servers: Vec<RedisServer> = (0..2)
        .map(|i| RedisServer::start(port(slot::SHARED + i)))
        .collect();
    let cluster = cluster_with(config_of(&servers));
    let channels: Vec<String> = (0..)
        .map(|i| format!("news{i}"))
        .filter(|c| cluster_core::placement::master_index(c.as_bytes(), 2) == 1)
        .take(2)
        .collect();
    let mut subscription = cluster.subscription();
    subscription.subscribe(&channels[..1]).unwrap();
    subscription.psubscribe(&["alerts.*"]).unwrap();
    let next = |subscription: &mut cluster_core::Subscription, what: &str| {
        subscription
            .next_message(Some(Duration::from_secs(2)))
            .unwrap()
            .unwrap_or_else(|| panic!("{what} within 2 s"))
    };
    // The confirmations: one for the channel, one for the pattern (every master confirms).
    for what in ["the channel's confirmation", "the pattern's confirmation"] {
        next(&mut subscription, what);
    }
    servers[1].stop();
    servers[1].restart();
    // The next call finds the connection closed, opens it again and subscribes again: the
    // channel's confirmation comes first (the pattern's is shown for node_1 only, as when it
    // was made), then what is published from then on.
    let again = next(&mut subscription, "the channel's confirmation again");
    assert_eq!(
        (again.kind.as_str(), again.channel),
        ("subscribe", channels[0].as_bytes().to_vec())
    );
    let published =
        |channel: &str, message: &str| cluster.execute(&["PUBLISH", channel, message]).unwrap();
    assert_eq!(published(&channels[0], "after the restart"), Value::Int(1));
    let message = next(&mut subscription, "the message published after the restart");
    assert_eq!(
        (message.kind.as_str(), message.data),
        ("message", Value::BulkString(b"after the restart".to_vec()))
    );
    // A new subscription on the restarted master works too.
    subscription.subscribe(&channels[1..]).unwrap();
    assert_eq!(
        next(&mut subscription, "a new confirmation").kind,
        "subscribe"
    );
    published(&channels[1], "second");
    assert_eq!(
        next(&mut subscription, "the second message").data,
        Value::BulkString(b"second".to_vec())
    );
}
