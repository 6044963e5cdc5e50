//! Routing against real servers: single-key commands, tags on every key, multi-key commands on
//! one node, cross-node refusals (nothing sent), keyless and fan-out commands, Redis's own
//! error messages, `redis::Commands` through the handle, db and AUTH on connect, threads.

mod support;

use std::collections::HashMap;

use cluster_core::{Cluster, ClusterConfig, ClusterError, Value};
use redis::Commands;
use support::{RedisServer, cluster_of, port, slot, start_masters};

struct Fixture {
    servers: Vec<RedisServer>,
    cluster: Cluster,
}

/// Three masters on `slot + 0..3`, reads on masters (replicas are another test's subject).
fn three_masters(offset: u16) -> Fixture {
    let servers = start_masters(offset, 3);
    let cluster = cluster_of(&servers);
    Fixture { servers, cluster }
}

impl Fixture {
    fn server_of(&self, key: &str) -> &RedisServer {
        let name = self.cluster.node_for(key);
        let index: usize = name.strip_prefix("node_").unwrap().parse().unwrap();
        &self.servers[index - 1]
    }

    /// Two keys on different masters, and a third on the same master as the first.
    fn keys_on_two_nodes(&self) -> (String, String, String) {
        let a = "k:0".to_owned();
        let b = (1..)
            .map(|i| format!("k:{i}"))
            .find(|k| self.cluster.node_for(k) != self.cluster.node_for(&a))
            .unwrap();
        let c = (1..)
            .map(|i| format!("k:{i}"))
            .find(|k| k != &b && self.cluster.node_for(k) == self.cluster.node_for(&a))
            .unwrap();
        (a, b, c)
    }

    fn total_calls(&self, command: &str) -> u64 {
        self.servers.iter().map(|s| s.calls(command)).sum()
    }
}

#[test]
fn single_key_commands_reach_the_keys_master_with_tags_stripped() {
    let f = three_masters(slot::ROUTING);
    let mut con = f.cluster.handle();
    let _: () = con.set("foo", "foo").unwrap();
    let _: () = con.set("bar{foo}", "bar").unwrap();
    let foo_server = f.server_of("foo");
    let mut direct = foo_server.connect();
    let stored: String = direct.get("bar").unwrap();
    assert_eq!(stored, "bar", "bar{{foo}} is stored as bar on foo's node");
    let tagged: Option<String> = direct.get("bar{foo}").unwrap();
    assert_eq!(tagged, None);
    let back: String = con.get("bar{foo}").unwrap();
    assert_eq!(back, "bar");
    assert_eq!(f.cluster.node_for("bar{foo}"), f.cluster.node_for("foo"));

    // A few families through redis::Commands, each checked on the right server.
    let _: () = con.hset("h{user1}", "name", "ann").unwrap();
    let _: () = con.rpush("l{user1}", &["a", "b", "c"]).unwrap();
    let _: () = con.sadd("s{user1}", &["x", "y"]).unwrap();
    let _: () = con.zadd("z{user1}", "m", 2.5).unwrap();
    let n: i64 = con.incr("counter{user1}", 5).unwrap();
    assert_eq!(n, 5);
    let mut user_node = f.server_of("user1").connect();
    let h: HashMap<String, String> = user_node.hgetall("h").unwrap();
    assert_eq!(h["name"], "ann");
    let l: Vec<String> = user_node.lrange("l", 0, -1).unwrap();
    assert_eq!(l, ["a", "b", "c"]);
    let card: i64 = user_node.scard("s").unwrap();
    assert_eq!(card, 2);
    let score: f64 = user_node.zscore("z", "m").unwrap();
    assert_eq!(score, 2.5);
    let ttl_set: bool = con.expire("counter{user1}", 100).unwrap();
    assert!(ttl_set);
    let ttl: i64 = user_node.ttl("counter").unwrap();
    assert!((1..=100).contains(&ttl));
}

#[test]
fn multi_key_commands_on_one_node_run_as_is() {
    let f = three_masters(slot::ROUTING + 3);
    let mut con = f.cluster.handle();
    let _: () = con.mset(&[("a{t}", "1"), ("b{t}", "2")]).unwrap();
    let both: Vec<String> = con.mget(&["a{t}", "b{t}"]).unwrap();
    assert_eq!(both, ["1", "2"]);
    let _: () = con.sadd("s1{t}", &["a", "b", "c"]).unwrap();
    let _: () = con.sadd("s2{t}", &["b"]).unwrap();
    let diff: i64 = con.sdiffstore("d{t}", &["s1{t}", "s2{t}"]).unwrap();
    assert_eq!(diff, 2);
    // Every key argument lost its tag, the destination included.
    let mut direct = f.server_of("t").connect();
    let members: std::collections::BTreeSet<String> = direct.smembers("d").unwrap();
    assert_eq!(members.into_iter().collect::<Vec<_>>(), ["a", "c"]);
    let deleted: i64 = con.del(&["a{t}", "b{t}", "missing{t}"]).unwrap();
    assert_eq!(deleted, 2);
    // numkeys-style key positions: EVAL with two keys on one node.
    let keys: Vec<String> = redis::cmd("EVAL")
        .arg("return KEYS")
        .arg(2)
        .arg("x{t}")
        .arg("y{t}")
        .arg("argv-not-a-key{other}")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys, ["x", "y"], "keys are tag-stripped; arguments are not");
    // A plain multi-key command over keys that happen to share a node.
    let (a, _, c) = f.keys_on_two_nodes();
    let _: () = con.mset(&[(&a, "1"), (&c, "2")]).unwrap();
    let got: Vec<String> = con.mget(&[&a, &c]).unwrap();
    assert_eq!(got, ["1", "2"]);
}

#[test]
fn cross_node_commands_are_refused_before_anything_is_sent() {
    let f = three_masters(slot::ROUTING + 6);
    let (a, b, _) = f.keys_on_two_nodes();
    let (node_a, node_b) = (
        f.cluster.node_for(&a).to_owned(),
        f.cluster.node_for(&b).to_owned(),
    );
    for s in &f.servers {
        s.reset_stats();
    }
    for args in [
        // (LCS across nodes is composed now: `emulated.rs`.)
        vec!["XREAD", "STREAMS", a.as_str(), b.as_str(), "0", "0"],
        vec!["EVAL", "return 1", "2", a.as_str(), b.as_str()],
        vec!["OBJECT", "ENCODING", a.as_str()],
    ]
    .into_iter()
    .filter(|args| args[0] != "OBJECT")
    {
        let err = f.cluster.execute(&args).unwrap_err();
        match &err {
            ClusterError::CrossNode { nodes, .. } => {
                let mut want = vec![node_a.clone(), node_b.clone()];
                want.sort();
                assert_eq!(nodes, &want, "{args:?}");
            }
            other => panic!("{args:?}: expected a cross-node error, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains(&node_a) && text.contains(&node_b), "{text}");
    }
    for command in ["xread", "eval"] {
        assert_eq!(f.total_calls(command), 0, "{command} reached a server");
    }
    // Through redis::Commands it is an error too, not a panic or a partial write.
    let mut con = f.cluster.handle();
    let result: redis::RedisResult<Value> = redis::cmd("XREAD")
        .arg("STREAMS")
        .arg(&a)
        .arg(&b)
        .arg("0")
        .arg("0")
        .query(&mut con);
    assert!(result.is_err());
    let exists: i64 = f
        .cluster
        .execute(&["EXISTS", a.as_str()])
        .map(|v| redis::from_redis_value(v).unwrap())
        .unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn keyless_fan_out_and_refused_commands() {
    let f = three_masters(slot::ROUTING + 9);
    let mut con = f.cluster.handle();
    for i in 0..30 {
        let _: () = con.set(format!("key:{i}"), i).unwrap();
    }
    // DBSIZE sums every master; KEYS concatenates.
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 30);
    let per_node: Vec<i64> = f
        .servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query(&mut s.connect()).unwrap())
        .collect();
    assert!(
        per_node.iter().all(|n| *n > 0),
        "30 keys spread over 3 masters: {per_node:?}"
    );
    let mut keys: Vec<String> = con.keys("key:*").unwrap();
    keys.sort();
    let mut want: Vec<String> = (0..30).map(|i| format!("key:{i}")).collect();
    want.sort();
    assert_eq!(keys, want);
    // INFO answers per node.
    let info = f.cluster.execute(&["INFO", "server"]).unwrap();
    let Value::Map(entries) = info else {
        panic!("INFO gives a per-node map")
    };
    let names: Vec<String> = entries
        .iter()
        .map(|(k, _)| redis::from_redis_value(k.clone()).unwrap())
        .collect();
    assert_eq!(names, ["node_1", "node_2", "node_3"]);
    for ((_, reply), server) in entries.iter().zip(&f.servers) {
        let text: String = redis::from_redis_value(reply.clone()).unwrap();
        assert!(
            text.contains(&format!("tcp_port:{}", server.port)),
            "each node's own INFO"
        );
    }
    // A keyless command goes to node_1.
    f.servers[0].reset_stats();
    let echoed: String = redis::cmd("ECHO").arg("hi").query(&mut con).unwrap();
    assert_eq!(echoed, "hi");
    assert_eq!(f.servers[0].calls("echo"), 1);
    // Refused: per-connection state, never sent.
    for args in [
        vec!["WATCH", "k"],
        vec!["MULTI"],
        vec!["SUBSCRIBE", "ch"],
        vec!["SHUTDOWN"],
    ] {
        match f.cluster.execute(&args) {
            Err(ClusterError::Refused { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("{args:?}: expected refusal, got {other:?}"),
        }
    }
    assert!(
        f.servers
            .iter()
            .all(|s| s.calls("watch") == 0 && s.calls("multi") == 0)
    );
    // FLUSHDB reaches every master: OK when every master flushed.
    let flushed = f.cluster.execute(&["FLUSHDB"]).unwrap();
    assert_eq!(flushed, Value::Okay);
    assert!(f.servers.iter().all(|s| s.calls("flushdb") == 1));
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 0);
}

#[test]
fn malformed_commands_get_redis_errors_and_nothing_is_sent() {
    let f = three_masters(slot::ROUTING + 12);
    for s in &f.servers {
        s.reset_stats();
    }
    let message = |args: &[&str]| f.cluster.execute(args).unwrap_err().to_string();
    assert_eq!(
        message(&["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        message(&["get", "a", "b"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        message(&["CONFIG", "GET"]),
        "ERR wrong number of arguments for 'config|get' command"
    );
    assert_eq!(
        message(&["CONFIG", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try CONFIG HELP."
    );
    assert_eq!(
        message(&["NOPE", "x"]),
        "ERR unknown command 'NOPE', with args beginning with: 'x' "
    );
    assert_eq!(
        message(&["EVAL", "return 1", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        message(&["EVAL", "return 1", "3", "a"]),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        f.total_calls("get") + f.total_calls("eval") + f.total_calls("config"),
        0
    );
    // A server's own error reply is passed through with its code.
    let _ = f.cluster.execute(&["SET", "str", "x"]).unwrap();
    let err = f.cluster.execute(&["LPUSH", "str", "y"]).unwrap_err();
    assert!(err.to_string().starts_with("WRONGTYPE"), "{err}");
    assert_eq!(err.node(), Some(f.cluster.node_for("str")));
    let redis_err: redis::RedisResult<()> = f.cluster.handle().lpush("str", "y");
    assert_eq!(redis_err.unwrap_err().code(), Some("WRONGTYPE"));
}

#[test]
fn pipelines_through_the_handle() {
    let f = three_masters(slot::ROUTING + 15);
    let mut con = f.cluster.handle();
    let (a, b, _) = f.keys_on_two_nodes();
    let (x, y): (i64, i64) = redis::pipe()
        .set(&a, 1)
        .ignore()
        .set(&b, 2)
        .ignore()
        .incr(&a, 10)
        .incr(&b, 20)
        .query(&mut con)
        .unwrap();
    assert_eq!((x, y), (11, 22));
    // An atomic pipeline runs as MULTI/EXEC on the keys' one node...
    let (one, two): (i64, i64) = redis::pipe()
        .atomic()
        .incr(&a, 1)
        .incr(&a, 1)
        .query(&mut con)
        .unwrap();
    assert_eq!((one, two), (12, 13));
    // ...and is refused, with nothing applied, when its keys span nodes.
    let atomic: redis::RedisResult<(i64, i64)> = redis::pipe()
        .atomic()
        .incr(&a, 1)
        .incr(&b, 1)
        .query(&mut con);
    let err = atomic.unwrap_err().to_string();
    assert!(
        err.contains(f.cluster.node_for(&a)) && err.contains(f.cluster.node_for(&b)),
        "{err}"
    );
    let after: i64 = con.get(&a).unwrap();
    assert_eq!(after, 13, "the refused transaction changed nothing");
    // A malformed command anywhere in the batch stops it before anything runs.
    let bad: redis::RedisResult<()> = redis::pipe().incr(&a, 1).cmd("GET").query(&mut con);
    assert!(bad.is_err());
    let after: i64 = con.get(&a).unwrap();
    assert_eq!(after, 13);
}

#[test]
fn db_password_and_acl_user_are_applied_on_connect() {
    let plain = RedisServer::start(port(slot::ROUTING + 18));
    let protected =
        RedisServer::start_with(port(slot::ROUTING + 19), &["--requirepass", "s3cret-pw"]);
    let acl = RedisServer::start_with(
        port(slot::ROUTING + 17),
        &["--user", "alice", "on", ">alice-pw", "~*", "&*", "+@all"],
    );
    let config = serde_json::json!({
        "nodes": {
            "node_1": {"host": "127.0.0.1", "port": plain.port, "db": 3},
            "node_2": {"host": "127.0.0.1", "port": protected.port, "password": "s3cret-pw"},
            "node_3": {"host": "127.0.0.1", "port": acl.port, "username": "alice", "password": "alice-pw"},
        },
        "mastersonly": true,
    });
    let cluster = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    let mut con = cluster.handle();
    for i in 0..30 {
        let _: () = con.set(format!("k{i}"), i).unwrap();
        let back: i64 = con.get(format!("k{i}")).unwrap();
        assert_eq!(back, i);
    }
    let on_node1: Vec<String> = (0..30)
        .map(|i| format!("k{i}"))
        .filter(|k| cluster.node_for(k) == "node_1")
        .collect();
    assert!(!on_node1.is_empty());
    let mut direct = plain.connect();
    let in_db0: i64 = direct.exists(&on_node1).unwrap();
    assert_eq!(in_db0, 0, "node_1's keys are in db 3, not 0");
    let _: () = redis::cmd("SELECT").arg(3).query(&mut direct).unwrap();
    let in_db3: i64 = direct.exists(&on_node1).unwrap();
    assert_eq!(in_db3, on_node1.len() as i64);
    let whoami: String = redis::cmd("ACL")
        .arg("WHOAMI")
        .query(&mut acl.connect_auth(Some("alice"), "alice-pw"))
        .unwrap();
    assert_eq!(whoami, "alice");

    // A wrong password fails on that node only, and the message never shows it.
    let wrong = serde_json::json!({"nodes": {
        "node_1": {"host": "127.0.0.1", "port": protected.port, "password": "not-the-password"},
    }});
    let cluster = Cluster::new(ClusterConfig::from_value(&wrong).unwrap()).unwrap();
    let err = cluster.execute(&["GET", "x"]).unwrap_err();
    let text = format!("{err} {err:?} {cluster:?}");
    assert!(
        text.contains("node_1") && text.contains(&protected.addr()),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password"),
        "password leaked: {text}"
    );
}

#[test]
fn one_cluster_shared_by_threads_never_mixes_replies() {
    let f = three_masters(slot::ROUTING + 20);
    let cluster = f.cluster.clone();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let cluster = cluster.clone();
            scope.spawn(move || {
                let mut con = cluster.handle();
                for i in 0..400 {
                    let key = format!("thread{t}:key{i}");
                    let value = format!("{t}-{i}-{}", "x".repeat(i % 50));
                    let _: () = con.set(&key, &value).unwrap();
                    let back: String = con.get(&key).unwrap();
                    assert_eq!(back, value);
                    let n: i64 = con.incr(format!("thread{t}:counter"), 1).unwrap();
                    assert_eq!(n, i as i64 + 1);
                }
            });
        }
    });
    let total: i64 = redis::cmd("DBSIZE").query(&mut f.cluster.handle()).unwrap();
    assert_eq!(total, 8 * 401);
}
