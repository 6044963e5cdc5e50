//! Pipelines and transactions: per-master batches sent at once, replies in the caller's order
//! with errors in place, split and emulated commands at their place in the sequence, and
//! MULTI/EXEC on the keys' one node, with or without WATCH (`pipelines/watch.rs`). The tests
//! share the slot's three ports, one at a time.

mod support;
// Not `tests/watch.rs`: that would be a test binary of its own, without a port slot.
#[path = "pipelines/per_node.rs"]
mod per_node;
#[path = "pipelines/watch.rs"]
mod watch;

use cluster_core::{ClusterError, Value};
use support::{cluster_of, key_on, slot, start_masters, take_turns};

fn command(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

#[test]
fn pipelines_keep_order_and_errors_in_place_and_transactions_stay_on_one_node() {
    let _turn = take_turns();
    let mut servers = start_masters(slot::PIPELINES, 3);
    let cluster = cluster_of(&servers);
    let (a, b, c) = (
        key_on(&cluster, "node_1"),
        key_on(&cluster, "node_2"),
        key_on(&cluster, "node_3"),
    );
    let replies = cluster
        .pipeline(&[
            command(&["SET", &a, "1"]),
            command(&["SET", &b, "2"]),
            command(&["INCR", &a]),
            command(&["LPUSH", &b, "x"]), // WRONGTYPE, in place
            command(&["MSET", &a, "10", &b, "20", &c, "30"]), // split, at its place
            command(&["MGET", &c, &b, &a, "missing"]),
            command(&["SADD", "s1{t}", "m"]),
            command(&["SUNIONSTORE", &c, "s1{t}", &a]), // emulated (a is a string: WRONGTYPE)
            command(&["DEL", &a, &b]),
            command(&["EXISTS", &a, &b, &c]),
        ])
        .unwrap();
    let values: Vec<Value> = replies.into_iter().map(Result::unwrap).collect();
    assert_eq!(values[0], Value::Okay);
    assert_eq!(values[2], Value::Int(2));
    assert!(matches!(values[3], Value::ServerError(ref e) if e.code() == "WRONGTYPE"));
    assert_eq!(values[4], Value::Okay);
    let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
    assert_eq!(
        values[5],
        Value::Array(vec![bulk("30"), bulk("20"), bulk("10"), Value::Nil])
    );
    assert!(matches!(values[7], Value::ServerError(ref e) if e.code() == "WRONGTYPE"));
    assert_eq!(values[8], Value::Int(2));
    assert_eq!(values[9], Value::Int(1));

    // A malformed command stops the pipeline before anything is sent.
    let err = cluster
        .pipeline(&[command(&["SET", &a, "again"]), command(&["GET"])])
        .unwrap_err();
    assert!(
        err.to_string().contains("wrong number of arguments"),
        "{err}"
    );
    assert_eq!(
        cluster.execute(&["EXISTS", a.as_str()]).unwrap(),
        Value::Int(0)
    );

    // A transaction on one node (tags), atomic as Redis makes it.
    let exec = cluster
        .transaction(&[
            command(&["SET", "x{t}", "5"]),
            command(&["INCRBY", "x{t}", "5"]),
            command(&["GET", "y{t}"]),
            command(&["ECHO", "hi"]),
        ])
        .unwrap();
    assert_eq!(
        exec,
        Value::Array(vec![
            Value::Okay,
            Value::Int(10),
            Value::Nil,
            Value::BulkString(b"hi".to_vec())
        ])
    );
    // Keys on two nodes, or a server-wide command: refused, nothing sent.
    let err = cluster
        .transaction(&[command(&["SET", &a, "1"]), command(&["SET", &b, "1"])])
        .unwrap_err();
    assert!(
        matches!(err, ClusterError::CrossNode { ref nodes, .. } if nodes == &["node_1", "node_2"]),
        "{err:?}"
    );
    assert_eq!(
        cluster
            .execute(&["EXISTS", a.as_str(), b.as_str()])
            .unwrap(),
        Value::Int(0)
    );
    let err = cluster.transaction(&[command(&["FLUSHALL"])]).unwrap_err();
    assert!(matches!(err, ClusterError::Refused { .. }), "{err:?}");
    // What would act on one master for all of them stays refused.
    for refused in [
        command(&["DBSIZE"]),
        command(&["SCRIPT", "LOAD", "return 1"]),
        command(&["ACL", "DELUSER", "nobody"]),
        command(&["BGSAVE"]),
    ] {
        let err = cluster
            .transaction(std::slice::from_ref(&refused))
            .unwrap_err();
        assert!(
            matches!(err, ClusterError::Refused { .. }),
            "{refused:?}: {err:?}"
        );
    }
    // A server asked about itself (PING, INFO) answers for the transaction's node alone.
    let replies = cluster
        .transaction(&[
            command(&["SET", &a, "1"]),
            command(&["PING"]),
            command(&["INFO", "server"]),
        ])
        .unwrap();
    let Value::Array(replies) = replies else {
        panic!("{replies:?}")
    };
    assert_eq!(
        replies[..2],
        [Value::Okay, Value::SimpleString("PONG".into())]
    );
    let port = format!("tcp_port:{}", servers[0].port);
    assert!(
        matches!(&replies[2], Value::BulkString(info) if String::from_utf8_lossy(info).contains(&port)),
        "INFO of node_1 (the node of {a}): {:?}",
        replies[2]
    );
    cluster.execute(&["DEL", a.as_str()]).unwrap();

    // A node that is down fails its own commands, in place; the others still answer.
    servers[1].stop();
    let replies = cluster
        .pipeline(&[
            command(&["SET", &a, "1"]),
            command(&["GET", &b]),
            command(&["SET", &c, "3"]),
        ])
        .unwrap();
    assert_eq!(replies[0].as_ref().unwrap(), &Value::Okay);
    assert_eq!(replies[1].as_ref().unwrap_err().node(), Some("node_2"));
    assert_eq!(replies[2].as_ref().unwrap(), &Value::Okay);
}

/// A pipeline longer than one write per master (its batches go out while the rest is still
/// being packed, `executor/eager.rs`): every reply in the caller's order, a split command in
/// the middle, and a master that is down failing exactly its own commands, however many
/// writes it would have taken.
#[test]
fn long_pipelines_written_while_packed_keep_every_reply_in_place() {
    let _turn = take_turns();
    let mut servers = start_masters(slot::PIPELINES, 3);
    let cluster = cluster_of(&servers);
    let value = "v".repeat(100);
    let keys: Vec<String> = (0..6000).map(|i| format!("long:{i}")).collect();
    let mut commands: Vec<Vec<Vec<u8>>> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        commands.push(command(&["SET", key, &format!("{i}{value}")]));
        commands.push(command(&["APPEND", key, "!"]));
        if i == 3000 {
            commands.push(command(&["MGET", &keys[0], &keys[1], &keys[2999]]));
        }
    }
    commands.extend(keys.iter().map(|key| command(&["GET", key])));
    let replies = cluster.pipeline(&commands).unwrap();
    assert_eq!(replies.len(), commands.len());
    let get = |i: usize| Value::BulkString(format!("{i}{value}!").into_bytes());
    let appended = |i: usize| Value::Int(format!("{i}{value}!").len() as i64);
    for i in 0..3001 {
        assert_eq!(replies[2 * i].as_ref().unwrap(), &Value::Okay);
        assert_eq!(replies[2 * i + 1].as_ref().unwrap(), &appended(i));
    }
    assert_eq!(
        replies[6002].as_ref().unwrap(),
        &Value::Array(vec![get(0), get(1), get(2999)])
    );
    let gets = &replies[replies.len() - keys.len()..];
    for (i, reply) in gets.iter().enumerate() {
        assert_eq!(reply.as_ref().unwrap(), &get(i), "GET {}", keys[i]);
    }

    // node_2 down: its commands fail in place, every other master's are applied.
    servers[1].stop();
    let sets: Vec<Vec<Vec<u8>>> = keys
        .iter()
        .map(|key| command(&["SET", key, "after"]))
        .collect();
    let replies = cluster.pipeline(&sets).unwrap();
    for (key, reply) in keys.iter().zip(&replies) {
        match cluster.node_for(key) {
            "node_2" => assert_eq!(reply.as_ref().unwrap_err().node(), Some("node_2")),
            _ => assert_eq!(reply.as_ref().unwrap(), &Value::Okay, "{key}"),
        }
    }
}

/// A pop from the first non-empty key answers which key: the caller's name for it, tag
/// included, in a pipeline and a transaction as in a single call (they answered the stored
/// name before).
#[test]
fn pops_name_the_key_as_the_caller_wrote_it_in_pipelines_and_transactions() {
    let _turn = take_turns();
    let servers = start_masters(slot::PIPELINES, 3);
    let cluster = cluster_of(&servers);
    let bulk = |text: &str| Value::BulkString(text.as_bytes().to_vec());
    let replies: Vec<Value> = cluster
        .pipeline(&[
            command(&["RPUSH", "jobs{user7}", "a", "b"]),
            command(&["BLPOP", "empty{user7}", "jobs{user7}", "1"]),
            command(&["LMPOP", "2", "empty{user7}", "jobs{user7}", "LEFT"]),
        ])
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        replies[1],
        Value::Array(vec![bulk("jobs{user7}"), bulk("a")])
    );
    assert_eq!(
        replies[2],
        Value::Array(vec![bulk("jobs{user7}"), Value::Array(vec![bulk("b")])])
    );
    let exec = cluster
        .transaction(&[
            command(&["RPUSH", "jobs{user7}", "c"]),
            command(&["BRPOP", "empty{user7}", "jobs{user7}", "0"]),
        ])
        .unwrap();
    assert_eq!(
        exec,
        Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![bulk("jobs{user7}"), bulk("c")])
        ])
    );
}
