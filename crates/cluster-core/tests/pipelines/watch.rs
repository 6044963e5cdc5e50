//! WATCH through `Cluster::watch`: a transaction on the connection holding the watch is aborted
//! (`Value::Nil`, nothing applied) when a watched key changed and applied when none did; keys
//! on two masters are refused before anything is sent; commands under the watch run on the
//! held connection; a dropped watch never leaves a watching connection in the pool.
//!
//! A module of the `pipelines` test binary, on its slot's three ports: every slot of the Rust
//! test port range is taken (see `support::slot`), and these tests are the transaction tests'
//! kin. Like the rest of the binary they take turns (`take_turns`).

use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterError, Value};

use crate::support::{RedisServer, cluster_of, key_on, slot, start_masters, take_turns};

fn command(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

fn bulk(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

/// The server that owns `key` (tags honoured).
fn server_of<'s>(cluster: &Cluster, servers: &'s [RedisServer], key: &str) -> &'s RedisServer {
    let node = cluster.node_for(key);
    let index: usize = node.strip_prefix("node_").unwrap().parse().unwrap();
    &servers[index - 1]
}

/// `CLIENT LIST ID id` on `server`, from a connection of its own.
fn client_line(server: &RedisServer, id: i64) -> String {
    redis::cmd("CLIENT")
        .arg("LIST")
        .arg("ID")
        .arg(id)
        .query(&mut server.connect())
        .unwrap()
}

fn client_id(value: Value) -> i64 {
    match value {
        Value::Int(id) => id,
        other => panic!("CLIENT ID answered {other:?}"),
    }
}

#[test]
fn a_watched_key_changed_elsewhere_aborts_the_transaction_and_an_unchanged_one_lets_it_apply() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = cluster_of(&servers);
    let owner = server_of(&cluster, &servers, "balance{acct}");
    cluster.execute(&["SET", "balance{acct}", "100"]).unwrap();

    // Changed by another client (a plain connection, under the stored name): EXEC aborts.
    let mut watch = cluster.watch(&["balance{acct}"]).unwrap();
    assert_eq!(watch.node(), cluster.node_for("acct"));
    assert_eq!(
        watch.execute(&["GET", "balance{acct}"]).unwrap(),
        bulk("100")
    );
    let _: () = redis::cmd("SET")
        .arg("balance")
        .arg("999")
        .query(&mut owner.connect())
        .unwrap();
    let exec = watch
        .transaction(&[
            command(&["DECRBY", "balance{acct}", "10"]),
            command(&["RPUSH", "log{acct}", "paid 10"]),
        ])
        .unwrap();
    assert_eq!(exec, Value::Nil, "a watched key changed: EXEC aborts");
    assert_eq!(
        cluster.execute(&["GET", "balance{acct}"]).unwrap(),
        bulk("999")
    );
    assert_eq!(
        cluster.execute(&["EXISTS", "log{acct}"]).unwrap(),
        Value::Int(0),
        "nothing of the aborted transaction was applied"
    );

    // Changed through the cluster's own pooled path (another connection than the held one).
    let mut watch = cluster.watch(&["balance{acct}"]).unwrap();
    cluster.execute(&["INCR", "balance{acct}"]).unwrap();
    watch.watch_more(&["log{acct}"]).unwrap();
    let exec = watch
        .transaction(&[command(&["RPUSH", "log{acct}", "x"])])
        .unwrap();
    assert_eq!(exec, Value::Nil);
    assert_eq!(
        cluster.execute(&["EXISTS", "log{acct}"]).unwrap(),
        Value::Int(0)
    );

    // Unchanged (two watched keys, one watched later): applied, EXEC's replies as they are.
    let mut watch = cluster.watch(&["balance{acct}"]).unwrap();
    watch.watch_more(&["log{acct}"]).unwrap();
    let exec = watch
        .transaction(&[
            command(&["DECRBY", "balance{acct}", "10"]),
            command(&["RPUSH", "log{acct}", "paid 10"]),
        ])
        .unwrap();
    assert_eq!(exec, Value::Array(vec![Value::Int(990), Value::Int(1)]));
    // Stored without the tag, on acct's node.
    let stored: String = redis::cmd("GET")
        .arg("balance")
        .query(&mut owner.connect())
        .unwrap();
    assert_eq!(stored, "990");

    // The same reply shapes as `Cluster::transaction`, its fix-ups included (a pop names the
    // key as the caller wrote it, tag and all).
    let commands = [
        command(&["RPUSH", "jobs{acct}", "c"]),
        command(&["BRPOP", "empty{acct}", "jobs{acct}", "0"]),
        command(&["GET", "missing{acct}"]),
        command(&["ECHO", "hi"]),
    ];
    let plain = cluster.transaction(&commands).unwrap();
    let watched = cluster
        .watch(&["jobs{acct}"])
        .unwrap()
        .transaction(&commands)
        .unwrap();
    assert_eq!(watched, plain);
    assert_eq!(
        watched,
        Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![bulk("jobs{acct}"), bulk("c")]),
            Value::Nil,
            bulk("hi"),
        ])
    );
    // An empty transaction: EXEC's empty array.
    let empty: &[Vec<&str>] = &[];
    assert_eq!(
        cluster
            .watch(&["jobs{acct}"])
            .unwrap()
            .transaction(empty)
            .unwrap(),
        Value::Array(vec![])
    );
}

#[test]
fn keys_on_two_masters_are_refused_before_anything_is_sent() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = cluster_of(&servers);
    let (a, b) = (key_on(&cluster, "node_1"), key_on(&cluster, "node_2"));
    servers.iter().for_each(RedisServer::reset_stats);

    let err = cluster.watch(&[a.as_str(), b.as_str()]).unwrap_err();
    assert!(
        matches!(err, ClusterError::CrossNode { ref command, ref nodes, .. }
            if command == "watch" && nodes == &["node_1", "node_2"]),
        "{err:?}"
    );
    let none: &[&str] = &[];
    assert!(matches!(
        cluster.watch(none).unwrap_err(),
        ClusterError::Command(_)
    ));
    assert!(servers.iter().all(|s| s.calls("watch") == 0));

    // Held on node_1: keys of node_2 are refused, whatever the path, and the watch goes on.
    let mut watch = cluster.watch(&[a.as_str()]).unwrap();
    assert_eq!(watch.node(), "node_1");
    let err = watch.watch_more(&[b.as_str()]).unwrap_err();
    assert!(
        matches!(err, ClusterError::CrossNode { ref nodes, .. } if nodes == &["node_1", "node_2"]),
        "{err:?}"
    );
    let err = watch.execute(&["SET", b.as_str(), "1"]).unwrap_err();
    assert!(
        matches!(err, ClusterError::CrossNode { ref command, ref nodes, .. }
            if command == "set" && nodes == &["node_1", "node_2"]),
        "{err:?}"
    );
    let err = watch
        .execute(&["MGET", a.as_str(), b.as_str()])
        .unwrap_err();
    assert!(matches!(err, ClusterError::CrossNode { .. }), "{err:?}");
    // What cannot run on the held connection: server-wide commands, connection settings, and
    // this API's own commands.
    for args in [
        vec!["DBSIZE"],
        vec!["SELECT", "1"],
        vec!["MULTI"],
        vec!["WATCH", a.as_str()],
        vec!["UNWATCH"],
    ] {
        let err = watch.execute(&args).unwrap_err();
        assert!(
            matches!(err, ClusterError::Refused { .. }),
            "{args:?}: {err:?}"
        );
    }
    assert_eq!(servers[0].calls("watch"), 1, "the first WATCH only");
    assert!(servers[1..].iter().all(|s| s.calls("watch") == 0));

    // A transaction with a key of node_2: refused before MULTI, nothing applied anywhere; the
    // watch ends with UNWATCH.
    let err = watch
        .transaction(&[command(&["SET", &a, "1"]), command(&["SET", &b, "1"])])
        .unwrap_err();
    assert!(
        matches!(err, ClusterError::CrossNode { ref command, ref nodes, .. }
            if command == "multi" && nodes == &["node_1", "node_2"]),
        "{err:?}"
    );
    assert!(
        servers
            .iter()
            .all(|s| s.calls("multi") == 0 && s.calls("set") == 0)
    );
    assert_eq!(servers[0].calls("unwatch"), 1);
    assert_eq!(
        cluster
            .execute(&["EXISTS", a.as_str(), b.as_str()])
            .unwrap(),
        Value::Int(0)
    );

    // The pooled path still refuses WATCH and UNWATCH, and says where to go.
    for args in [vec!["WATCH", a.as_str()], vec!["UNWATCH"]] {
        let err = cluster.execute(&args).unwrap_err();
        assert!(
            matches!(err, ClusterError::Refused { .. })
                && err.to_string().contains("Cluster::watch"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(servers[0].calls("watch"), 1);
}

#[test]
fn commands_under_watch_run_on_the_held_connection() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = cluster_of(&servers);
    // Keys of node_1, where keyless commands (CLIENT ID) go on the pooled path too.
    let key = key_on(&cluster, "node_1");
    let mut watch = cluster.watch(&[key.as_str()]).unwrap();
    let held = client_id(watch.execute(&["CLIENT", "ID"]).unwrap());
    let pooled = client_id(cluster.execute(&["CLIENT", "ID"]).unwrap());
    assert_ne!(
        held, pooled,
        "the held connection is nobody else's meanwhile"
    );
    assert_eq!(client_id(watch.execute(&["CLIENT", "ID"]).unwrap()), held);

    assert_eq!(
        watch.execute(&["SET", key.as_str(), "v"]).unwrap(),
        Value::Okay
    );
    assert!(
        client_line(&servers[0], held).contains("cmd=set"),
        "SET ran on the held connection"
    );
    assert_eq!(watch.execute(&["GET", key.as_str()]).unwrap(), bulk("v"));
    // An error reply is the error; the watch goes on.
    let err = watch.execute(&["LPUSH", key.as_str(), "x"]).unwrap_err();
    assert!(
        matches!(err, ClusterError::Server { ref node, ref error } if node == "node_1" && error.code() == "WRONGTYPE"),
        "{err:?}"
    );
    // Tags: the stored name goes to the server, the caller's name comes back.
    let tagged = format!("jobs{{{key}}}");
    let empty = format!("empty{{{key}}}");
    watch.watch_more(&[tagged.as_str()]).unwrap();
    assert_eq!(
        watch.execute(&["RPUSH", tagged.as_str(), "j"]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        watch
            .execute(&["BLPOP", empty.as_str(), tagged.as_str(), "1"])
            .unwrap(),
        Value::Array(vec![bulk(&tagged), bulk("j")])
    );
    assert_eq!(servers[0].calls("rpush"), 1);
    assert_eq!(
        client_line(&servers[0], held)
            .split(' ')
            .find(|f| f.starts_with("cmd=")),
        Some("cmd=blpop")
    );

    // UNWATCH gives the connection back: the next pooled call gets it, and it watches nothing
    // (a change to the once-watched key does not abort a later transaction).
    watch.unwatch().unwrap();
    assert_eq!(client_id(cluster.execute(&["CLIENT", "ID"]).unwrap()), held);
    cluster.execute(&["SET", key.as_str(), "changed"]).unwrap();
    let exec = cluster.transaction(&[command(&["GET", &key])]).unwrap();
    assert_eq!(exec, Value::Array(vec![bulk("changed")]));

    // After EXEC the connection is back in the pool too.
    let mut watch = cluster.watch(&[key.as_str()]).unwrap();
    let held = client_id(watch.execute(&["CLIENT", "ID"]).unwrap());
    watch.transaction(&[command(&["GET", &key])]).unwrap();
    assert_eq!(client_id(cluster.execute(&["CLIENT", "ID"]).unwrap()), held);
}

#[test]
fn a_dropped_watch_leaves_no_watching_connection_in_the_pool() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    // A new cluster: node_1's pool is empty, so the watch's connection is its only one, and
    // the one the next call would get back if the drop returned it.
    let cluster = cluster_of(&servers);
    let key = key_on(&cluster, "node_1");
    let watch = cluster.watch(&[key.as_str()]).unwrap();
    drop(watch);
    // Changed after the drop: a stale WATCH on a pooled connection would abort the next
    // transaction that got that connection.
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("elsewhere")
        .query(&mut servers[0].connect())
        .unwrap();
    let exec = cluster
        .transaction(&[command(&["SET", &key, "mine"]), command(&["GET", &key])])
        .unwrap();
    assert_eq!(exec, Value::Array(vec![Value::Okay, bulk("mine")]));

    // The dropped watch's connection was closed, not pooled.
    let mut watch = cluster.watch(&[key.as_str()]).unwrap();
    let held = client_id(watch.execute(&["CLIENT", "ID"]).unwrap());
    drop(watch);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !client_line(&servers[0], held).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the dropped watch's connection is still open"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_ne!(client_id(cluster.execute(&["CLIENT", "ID"]).unwrap()), held);
}

/// `Cluster::transaction_with_watch`: a counter incremented by WATCH/GET/MULTI/SET from several
/// threads at once ends at exactly the number of increments (each EXEC aborted by another
/// thread's write starts again), and a write made between a first read and its EXEC makes that
/// attempt start again from a fresh read.
#[test]
fn transaction_with_watch_retries_until_it_applies_under_concurrent_writers() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = cluster_of(&servers);
    let (workers, increments) = (6, 30);
    let attempts = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                for _ in 0..increments {
                    let exec = cluster
                        .transaction_with_watch(&["counter{c}"], |watch| {
                            attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let now = match watch.execute(&["GET", "counter{c}"])? {
                                Value::BulkString(text) => {
                                    String::from_utf8(text).unwrap().parse::<i64>().unwrap()
                                }
                                _ => 0,
                            };
                            Ok(vec![command(&[
                                "SET",
                                "counter{c}",
                                &(now + 1).to_string(),
                            ])])
                        })
                        .unwrap();
                    assert_eq!(exec, Value::Array(vec![Value::Okay]));
                }
            });
        }
    });
    assert_eq!(
        cluster.execute(&["GET", "counter{c}"]).unwrap(),
        bulk(&(workers * increments).to_string())
    );
    assert!(attempts.into_inner() >= workers * increments);

    // A write by another client after the read: that attempt aborts, the next one applies.
    let owner = server_of(&cluster, &servers, "stock{item}");
    cluster.execute(&["SET", "stock{item}", "10"]).unwrap();
    let mut reads = Vec::new();
    let exec = cluster
        .transaction_with_watch(&["stock{item}"], |watch| {
            let stock = watch.execute(&["GET", "stock{item}"])?;
            reads.push(stock.clone());
            if reads.len() == 1 {
                let _: () = redis::cmd("DECR")
                    .arg("stock")
                    .query(&mut owner.connect())
                    .unwrap();
            }
            Ok(vec![command(&["DECR", "stock{item}"])])
        })
        .unwrap();
    assert_eq!(reads, vec![bulk("10"), bulk("9")]);
    assert_eq!(exec, Value::Array(vec![Value::Int(8)]));

    // An error from the closure ends it at once, nothing applied.
    let err = cluster
        .transaction_with_watch(&["stock{item}"], |_| -> Result<Vec<Vec<Vec<u8>>>, _> {
            Err(ClusterError::Command("ERR given up".to_owned()))
        })
        .unwrap_err();
    assert!(err.to_string().contains("given up"));
    assert_eq!(cluster.execute(&["GET", "stock{item}"]).unwrap(), bulk("8"));
}
