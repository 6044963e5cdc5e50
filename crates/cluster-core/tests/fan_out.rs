//! Server-wide commands with one merged answer: SCAN walking every master with one cursor,
//! RANDOMKEY from a non-empty node, SCRIPT LOAD's one sha, scripts that declare no key (on
//! node_1, or on every master when the config says so), and the admin commands the whole
//! cluster answers at once (PING, TIME, LASTSAVE, CONFIG SET, CLIENT LIST / KILL).

mod support;

use std::collections::BTreeSet;

use cluster_core::{Cluster, ClusterConfig, ClusterError, Value};
use redis::Commands;
use support::{RedisServer, cluster_of, config_of, slot, start_masters};

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
    // The binary's ports are all taken: the keyless-script test shares these servers.
    keyless_scripts_run_on_node_1_or_on_every_master(&servers);
}

/// python-redis-lock's `reset_all`: `KEYS lock:*` and a DEL of each, in a script that declares
/// no key.
const RESET_ALL: &str = "local found = redis.call('KEYS', 'lock:*') for _, key in ipairs(found) do redis.call('DEL', key) end return #found";

fn keyless_scripts_run_on_node_1_or_on_every_master(servers: &[RedisServer]) {
    let one = cluster_of(servers);
    let _ = one.execute(&["FLUSHALL"]).unwrap();
    let locks: Vec<String> = (0..12).map(|i| format!("lock:{i}")).collect();
    for lock in &locks {
        let _ = one.execute(&["SET", lock, "1"]).unwrap();
    }
    let holders: BTreeSet<&str> = locks.iter().map(|k| one.node_for(k)).collect();
    assert_eq!(holders.len(), 3, "the locks are on every master");
    let on_node_1 = locks.iter().filter(|k| one.node_for(k) == "node_1").count();

    // By default: node_1 only.
    let reply = one.execute(&["EVAL", RESET_ALL, "0"]).unwrap();
    assert_eq!(reply, Value::Int(on_node_1 as i64));
    assert_eq!(
        one.execute(&["DBSIZE"]).unwrap(),
        Value::Int((locks.len() - on_node_1) as i64)
    );

    let mut config = config_of(servers);
    config["keyless_scripts"] = "every_master".into();
    let every = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    let reply = every.execute(&["EVAL", RESET_ALL, "0"]).unwrap();
    assert_eq!(
        reply,
        Value::Int((locks.len() - on_node_1) as i64),
        "counts add up"
    );
    assert_eq!(every.execute(&["DBSIZE"]).unwrap(), Value::Int(0));

    // EVALSHA runs everywhere too; in a pipeline as well. Replies combine: arrays joined, the
    // reply all masters agree on as is, different ones an error naming them.
    let sha = every.execute(&["SCRIPT", "LOAD", RESET_ALL]).unwrap();
    let sha = String::from_utf8(match sha {
        Value::BulkString(bytes) => bytes,
        other => panic!("{other:?}"),
    })
    .unwrap();
    for lock in &locks {
        let _ = every.execute(&["SET", lock, "1"]).unwrap();
    }
    let replies = every
        .pipeline(&[vec!["EVALSHA", sha.as_str(), "0"], vec!["DBSIZE"]])
        .unwrap();
    assert_eq!(
        replies[0].as_ref().unwrap(),
        &Value::Int(locks.len() as i64)
    );
    assert_eq!(replies[1].as_ref().unwrap(), &Value::Int(0));
    let joined = every.execute(&["EVAL", "return {1, 2}", "0"]).unwrap();
    assert_eq!(
        joined,
        Value::Array(
            (0..3)
                .flat_map(|_| [Value::Int(1), Value::Int(2)])
                .collect()
        )
    );
    assert_eq!(
        every.execute(&["EVAL", "return 'same'", "0"]).unwrap(),
        Value::BulkString(b"same".to_vec())
    );
    let differ = every
        .execute(&[
            "EVAL",
            "return redis.call('INFO', 'server'):match('tcp_port:%d+')",
            "0",
        ])
        .unwrap_err();
    assert!(differ.to_string().contains("disagree"), "{differ}");
    // A script with keys still runs where they are.
    let keyed = every
        .execute(&["EVAL", "return redis.call('SET', KEYS[1], 'v')", "1", "one"])
        .unwrap();
    assert_eq!(keyed, Value::Okay);
    assert_eq!(every.execute(&["DBSIZE"]).unwrap(), Value::Int(1));
}

#[test]
fn whole_cluster_answers_for_admin_commands() {
    let servers = start_masters(slot::ADMIN, 3);
    let cluster = cluster_of(&servers);
    let _ = cluster.execute(&["FLUSHALL"]).unwrap();
    // A small keyspace comes back from one SCAN call, cursor 0, as from one server.
    for key in ["a", "b", "c", "d", "e"] {
        let _ = cluster.execute(&["SET", key, "1"]).unwrap();
    }
    let reply = cluster.execute(&["SCAN", "0"]).unwrap();
    let (cursor, keys): (u64, BTreeSet<String>) = redis::from_redis_value(reply).unwrap();
    assert_eq!(cursor, 0);
    assert_eq!(keys.len(), 5);
    // PING: PONG from every master. TIME: node_1's clock.
    assert_eq!(
        cluster.execute(&["PING"]).unwrap(),
        Value::SimpleString("PONG".to_owned())
    );
    let (seconds, _micros): (u64, u64) =
        redis::from_redis_value(cluster.execute(&["TIME"]).unwrap()).unwrap();
    assert!(seconds > 1_700_000_000);
    assert_eq!(servers[0].calls("time"), 1);
    // LASTSAVE: the oldest of the masters' last saves.
    let least = servers
        .iter()
        .map(|s| {
            redis::cmd("LASTSAVE")
                .query::<i64>(&mut s.connect())
                .unwrap()
        })
        .min()
        .unwrap();
    assert_eq!(cluster.execute(&["LASTSAVE"]).unwrap(), Value::Int(least));
    // CONFIG SET everywhere, OK once; CONFIG GET per node shows it on each.
    assert_eq!(
        cluster
            .execute(&["CONFIG", "SET", "maxmemory-samples", "7"])
            .unwrap(),
        Value::Okay
    );
    let Value::Map(per_node) = cluster
        .execute(&["CONFIG", "GET", "maxmemory-samples"])
        .unwrap()
    else {
        panic!("CONFIG GET answers per node")
    };
    assert_eq!(per_node.len(), 3);
    // CLIENT LIST: every master's clients in one text; CLIENT KILL finds the client wherever
    // it is connected and fails only when no master knows it.
    let mut victim = servers[2].connect();
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("victim")
        .query::<()>(&mut victim)
        .unwrap();
    let list: String =
        redis::from_redis_value(cluster.execute(&["CLIENT", "LIST"]).unwrap()).unwrap();
    let line = list
        .lines()
        .find(|l| l.contains("name=victim"))
        .expect("the victim is listed");
    let addr = line
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_owned();
    let ports: BTreeSet<&str> = list
        .lines()
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("laddr=")))
        .collect();
    assert_eq!(ports.len(), 3, "clients of all three masters: {ports:?}");
    assert_eq!(
        cluster.execute(&["CLIENT", "KILL", &addr]).unwrap(),
        Value::Okay
    );
    let again = cluster.execute(&["CLIENT", "KILL", &addr]).unwrap_err();
    assert!(again.to_string().contains("No such client"), "{again}");
    assert_eq!(
        cluster
            .execute(&["CLIENT", "KILL", "ID", "987654321"])
            .unwrap(),
        Value::Int(0)
    );
}
