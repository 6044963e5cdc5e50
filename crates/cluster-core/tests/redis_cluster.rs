//! The engine over a real Redis Cluster (`tests/cluster.sh` with `CLUSTER_KIND=redis_cluster`:
//! 3 masters, 3 replicas): keys where the cluster says, every command strategy, and no wrong
//! answer nor lost write while slots migrate (`redis-cli --cluster reshard`) and while a
//! replica takes over (`CLUSTER FAILOVER`). One test, one cluster, scenarios in order.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cluster_core::placement::distribution::slot_of;
use cluster_core::placement::tags::cluster_tag;
use cluster_core::{Cluster, ClusterConfig, ClusterError, Value};
use support::redis_cluster::RedisClusterServers;

fn direct(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap()
}

fn bulk(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

fn int(value: Value) -> i64 {
    match value {
        Value::Int(i) => i,
        other => panic!("not an integer: {other:?}"),
    }
}

/// The node id and the role of every node, from one node's `CLUSTER NODES`.
fn cluster_nodes(port: u16) -> Vec<(String, u16, bool)> {
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query(&mut direct(port))
        .unwrap();
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let port = fields[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
            (fields[0].to_owned(), port, fields[2].contains("master"))
        })
        .collect()
}

#[test]
fn the_engine_on_a_redis_cluster() {
    let servers = RedisClusterServers::start();
    let cluster = Cluster::new(servers.config(false)).unwrap();
    keys_land_where_the_cluster_says(&servers, &cluster);
    every_strategy(&cluster);
    channels_and_shard_channels(&cluster);
    replicas_answer_reads(&servers);
    slots_migrate_under_load(&servers, &cluster);
    a_replica_takes_over_under_load(&servers, &cluster);
    a_master_dies_and_reads_come_back(&servers, &cluster);
    config_errors();
}

fn keys_land_where_the_cluster_says(servers: &RedisClusterServers, cluster: &Cluster) {
    assert_eq!(cluster.master_count(), 3);
    let names: BTreeSet<String> = cluster.masters().iter().map(|m| m.name.clone()).collect();
    let expected: BTreeSet<String> = servers.ports()[..3]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    assert_eq!(
        names, expected,
        "the masters are the map's, named host:port"
    );
    let mut con = direct(servers.base);
    let keys: Vec<Vec<u8>> = (0..600)
        .map(|i| format!("key:{i}").into_bytes())
        .chain((0..50).map(|i| format!("{{user{i}}}:cart").into_bytes()))
        .chain([
            b"{}x".to_vec(),
            b"a{}{b}".to_vec(),
            b"\x00\xff{\x01}".to_vec(),
            b"".to_vec(),
        ])
        .collect();
    for key in &keys {
        let slot: usize = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut con)
            .unwrap();
        assert_eq!(slot_of(cluster_tag(key)), slot, "slot of {key:?}");
        cluster.execute(&[b"SET".as_slice(), key, b"v"]).unwrap();
        // Stored under its full name on the master the cluster gives the slot.
        let owner = cluster.node_config_for(key).port;
        let held: Option<String> = redis::cmd("GET")
            .arg(key)
            .query(&mut direct(owner))
            .unwrap();
        assert_eq!(held.as_deref(), Some("v"), "{key:?} on {owner}");
    }
    let dbsize = int(cluster.execute(&["DBSIZE"]).unwrap());
    assert_eq!(dbsize, keys.len() as i64, "DBSIZE sums the masters only");
    cluster.execute(&["FLUSHALL"]).unwrap();
    assert_eq!(int(cluster.execute(&["DBSIZE"]).unwrap()), 0);
}

fn every_strategy(cluster: &Cluster) {
    // Split by slot: MSET / MGET / EXISTS / DEL over keys in many slots.
    let keys: Vec<String> = (0..1000).map(|i| format!("m:{i}")).collect();
    let mut mset = vec!["MSET".to_owned()];
    for key in &keys {
        mset.extend([key.clone(), format!("v{key}")]);
    }
    cluster.execute(&mset).unwrap();
    let mut mget = vec!["MGET".to_owned()];
    mget.extend(keys.iter().cloned());
    let expected: Vec<Value> = keys.iter().map(|k| bulk(&format!("v{k}"))).collect();
    assert_eq!(
        cluster.execute(&mget).unwrap(),
        Value::Array(expected.clone())
    );
    assert_eq!(
        support::execute_visited(cluster, &mget).unwrap(),
        Value::Array(expected)
    );
    let mut exists = vec!["EXISTS".to_owned()];
    exists.extend(keys.iter().take(100).cloned());
    exists.push("missing".to_owned());
    assert_eq!(int(cluster.execute(&exists).unwrap()), 100);
    // SCAN walks every master once.
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_owned();
    loop {
        let reply = cluster.execute(&["SCAN", &cursor, "COUNT", "200"]).unwrap();
        let Value::Array(mut parts) = reply else {
            panic!("scan")
        };
        let Value::Array(found) = parts.pop().unwrap() else {
            panic!("keys")
        };
        for key in found {
            let Value::BulkString(key) = key else {
                panic!("key")
            };
            seen.insert(String::from_utf8(key).unwrap());
        }
        let Value::BulkString(next) = parts.pop().unwrap() else {
            panic!("cursor")
        };
        cursor = String::from_utf8(next).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, keys.iter().cloned().collect());
    // Emulated across slots: SUNIONSTORE, RENAME.
    cluster.execute(&["SADD", "s:a", "1", "2"]).unwrap();
    cluster.execute(&["SADD", "s:b", "2", "3"]).unwrap();
    assert_ne!(slot_of(b"s:a"), slot_of(b"s:b"));
    assert_eq!(
        int(cluster
            .execute(&["SUNIONSTORE", "s:c", "s:a", "s:b"])
            .unwrap()),
        3
    );
    cluster.execute(&["SET", "lcs:a", "ohmytext"]).unwrap();
    cluster.execute(&["SET", "lcs:b", "mynewtext"]).unwrap();
    assert_ne!(slot_of(b"lcs:a"), slot_of(b"lcs:b"));
    assert_eq!(
        cluster.execute(&["LCS", "lcs:a", "lcs:b"]).unwrap(),
        bulk("mytext")
    );
    assert_eq!(
        int(cluster.execute(&["LCS", "lcs:a", "lcs:b", "LEN"]).unwrap()),
        6
    );
    cluster.execute(&["RENAME", "m:1", "m:renamed"]).unwrap();
    assert_eq!(
        cluster.execute(&["GET", "m:renamed"]).unwrap(),
        bulk("vm:1")
    );
    // One slot: a transaction and a script on tagged keys.
    let transaction = cluster
        .transaction(&[
            vec!["INCR", "{t}a"],
            vec!["INCR", "{t}b"],
            vec!["MGET", "{t}a", "{t}b"],
        ])
        .unwrap();
    assert_eq!(
        transaction,
        Value::Array(vec![
            Value::Int(1),
            Value::Int(1),
            Value::Array(vec![bulk("1"), bulk("1")])
        ])
    );
    let script =
        "return redis.call('INCRBY', KEYS[1], ARGV[1]) + redis.call('INCRBY', KEYS[2], ARGV[1])";
    assert_eq!(
        int(cluster
            .execute(&["EVAL", script, "2", "{t}a", "{t}b", "5"])
            .unwrap()),
        12
    );
    // Across slots: refused before anything is sent, naming the slots and their masters.
    match cluster.transaction(&[vec!["INCR", "x:1"], vec!["INCR", "x:2"]]) {
        Err(ClusterError::CrossNode { nodes, .. }) => {
            assert!(nodes.iter().all(|n| n.starts_with("slot ")), "{nodes:?}")
        }
        other => panic!("a transaction across slots: {other:?}"),
    }
    // A pipeline over many slots, with a read of its own writes.
    let commands: Vec<Vec<String>> = (0..300)
        .flat_map(|i| {
            [
                vec!["SET".to_owned(), format!("p:{i}"), i.to_string()],
                vec!["GET".to_owned(), format!("p:{i}")],
            ]
        })
        .collect();
    let replies = cluster.pipeline(&commands).unwrap();
    for (i, pair) in replies.chunks(2).enumerate() {
        assert_eq!(pair[1].as_ref().unwrap(), &bulk(&i.to_string()));
    }
    // WATCH on the master of a slot.
    let mut watch = cluster.watch(&["{w}k"]).unwrap();
    watch.execute(&["GET", "{w}k"]).unwrap();
    let applied = watch.transaction(&[vec!["SET", "{w}k", "1"]]).unwrap();
    assert_eq!(applied, Value::Array(vec![Value::Okay]));
    cluster.execute(&["FLUSHALL"]).unwrap();
}

/// Writers and readers going through `cluster` until `stop`: each writer INCRs its own
/// counters and remembers how many of its INCRs were acknowledged; readers check that a
/// counter never goes back. Any error is recorded.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<WriterOutcome>>,
}

/// A writer's acknowledged INCRs per key, and the errors it met.
type WriterOutcome = (BTreeMap<String, i64>, Vec<String>);

impl Load {
    /// `hot`: slots most keys are taken from (those a migration moves), the rest anywhere.
    /// Besides INCR and MGET, each writer runs a transaction (two INCRs in one slot) and a
    /// composed SUNIONSTORE every 20 rounds, on keys in `hot` too.
    fn start(cluster: &Cluster, tag: &str, hot: std::ops::Range<usize>) -> Load {
        cluster.execute(&["SADD", "static:a", "1", "2"]).unwrap();
        cluster.execute(&["SADD", "static:b", "2", "3"]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..3)
            .map(|w| {
                let (cluster, stop, tag) = (cluster.clone(), Arc::clone(&stop), tag.to_owned());
                let hot = hot.clone();
                thread::spawn(move || {
                    let mut acknowledged: BTreeMap<String, i64> = BTreeMap::new();
                    let mut errors = Vec::new();
                    let in_hot = |k: &String| hot.contains(&slot_of(cluster_tag(k.as_bytes())));
                    let mut keys: Vec<String> = (0..)
                        .map(|i| format!("{tag}:{w}:{i}"))
                        .filter(in_hot)
                        .take(150)
                        .collect();
                    keys.extend((0..50).map(|i| format!("{tag}:{w}:cold:{i}")));
                    let pair_tag = (0..)
                        .map(|i| format!("{{{tag}:{w}:pair:{i}}}"))
                        .find(in_hot)
                        .unwrap();
                    let pair = [format!("{pair_tag}:a"), format!("{pair_tag}:b")];
                    let union = (0..)
                        .map(|i| format!("{tag}:{w}:union:{i}"))
                        .find(in_hot)
                        .unwrap();
                    let mut round = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        if round % 20 == 10 {
                            let incrs = vec![vec!["INCR", &pair[0]], vec!["INCR", &pair[1]]];
                            match cluster.transaction(&incrs) {
                                Ok(Value::Array(replies)) if replies.len() == 2 => {
                                    for (key, reply) in pair.iter().zip(replies) {
                                        let count = acknowledged.entry(key.clone()).or_default();
                                        *count += 1;
                                        if reply != Value::Int(*count) {
                                            errors.push(format!(
                                                "MULTI INCR {key}: {reply:?}, expected {count}"
                                            ));
                                        }
                                    }
                                }
                                other => errors.push(format!("MULTI: {other:?}")),
                            }
                            match cluster.execute(&["SUNIONSTORE", &union, "static:a", "static:b"])
                            {
                                Ok(Value::Int(3)) => {}
                                other => errors.push(format!("SUNIONSTORE {union}: {other:?}")),
                            }
                        }
                        let key = &keys[round % keys.len()];
                        match cluster.execute(&["INCR", key]) {
                            Ok(Value::Int(n)) => {
                                let count = acknowledged.entry(key.clone()).or_default();
                                *count += 1;
                                if n != *count {
                                    errors
                                        .push(format!("INCR {key} answered {n}, expected {count}"));
                                }
                            }
                            other => errors.push(format!("INCR {key}: {other:?}")),
                        }
                        // Read a batch back: every counter at least what was acknowledged.
                        if round % 50 == 49 {
                            let mut mget = vec!["MGET".to_owned()];
                            mget.extend(keys.iter().cloned());
                            match cluster.execute(&mget) {
                                Ok(Value::Array(values)) => {
                                    for (key, value) in keys.iter().zip(values) {
                                        let want = acknowledged.get(key).copied().unwrap_or(0);
                                        let got = match value {
                                            Value::Nil => 0,
                                            Value::BulkString(b) => {
                                                String::from_utf8(b).unwrap().parse().unwrap()
                                            }
                                            other => panic!("{other:?}"),
                                        };
                                        if got != want {
                                            errors.push(format!(
                                                "MGET {key}: {got}, expected {want}"
                                            ));
                                        }
                                    }
                                }
                                other => errors.push(format!("MGET: {other:?}")),
                            }
                        }
                        round += 1;
                    }
                    (acknowledged, errors)
                })
            })
            .collect();
        Load { stop, threads }
    }

    /// Stops the load; every acknowledged INCR, checked on the servers through a fresh client.
    fn finish(self, cluster: &Cluster) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        let mut writes = 0;
        for thread in self.threads {
            let (acknowledged, errors) = thread.join().unwrap();
            assert!(
                errors.is_empty(),
                "{} errors, first: {:?}",
                errors.len(),
                &errors[..errors.len().min(5)]
            );
            for (key, count) in acknowledged {
                writes += count as usize;
                assert_eq!(
                    cluster.execute(&["GET", &key]).unwrap(),
                    bulk(&count.to_string()),
                    "{key}"
                );
            }
        }
        writes
    }
}

/// PUBLISH reaches a subscriber wherever it listens; a shard channel (SSUBSCRIBE, SPUBLISH)
/// lives on the master of its slot, and both go there.
fn channels_and_shard_channels(cluster: &Cluster) {
    let wait = Some(Duration::from_secs(5));
    let channels: Vec<String> = (0..6).map(|i| format!("chan:{i}")).collect();
    let slots: BTreeSet<usize> = channels.iter().map(|c| slot_of(c.as_bytes())).collect();
    assert!(slots.len() > 1);
    let mut subscription = cluster.subscription();
    subscription.ssubscribe(&channels).unwrap();
    subscription.subscribe(&["plain"]).unwrap();
    for _ in 0..channels.len() + 1 {
        let message = subscription
            .next_message(wait)
            .unwrap()
            .expect("a confirmation");
        assert!(
            ["ssubscribe", "subscribe"].contains(&message.kind.as_str()),
            "{message:?}"
        );
    }
    for channel in &channels {
        let receivers = cluster.execute(&["SPUBLISH", channel, channel]).unwrap();
        assert_eq!(receivers, Value::Int(1), "{channel}");
        let message = subscription.next_message(wait).unwrap().expect("a message");
        assert_eq!(
            (message.kind.as_str(), message.data),
            ("smessage", bulk(channel))
        );
    }
    assert_eq!(int(cluster.execute(&["PUBLISH", "plain", "x"]).unwrap()), 1);
    let message = subscription.next_message(wait).unwrap().expect("a message");
    assert_eq!(
        (message.kind.as_str(), message.data),
        ("message", bulk("x"))
    );
}

/// The number of GETs a server has answered (`INFO commandstats`).
fn gets_answered(port: u16) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut direct(port))
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

fn replicas_answer_reads(servers: &RedisClusterServers) {
    let cluster = Cluster::new(servers.config(true)).unwrap();
    assert!(cluster.wait_for_replica_check(Duration::from_secs(10)));
    for master in cluster.masters() {
        let replicas = cluster.replica_health_of(&master.name);
        assert_eq!(replicas.len(), 1, "{}: {replicas:?}", master.name);
        assert!(replicas[0].1, "{} serves reads", replicas[0].0.name);
    }
    let keys: Vec<String> = (0..300).map(|i| format!("r:{i}")).collect();
    for key in &keys {
        cluster.execute(&["SET", key, key]).unwrap();
    }
    // Replication is asynchronous: let every replica catch up before reading.
    for port in &servers.ports()[..3] {
        let _: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(2000)
            .query(&mut direct(*port))
            .unwrap();
    }
    let replica_ports = &servers.ports()[3..];
    let before: u64 = replica_ports.iter().map(|p| gets_answered(*p)).sum();
    for key in &keys {
        assert_eq!(cluster.execute(&["GET", key]).unwrap(), bulk(key));
    }
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    let expected: Vec<Value> = keys.iter().map(|k| bulk(k)).collect();
    assert_eq!(cluster.execute(&mget).unwrap(), Value::Array(expected));
    let answered: u64 = replica_ports.iter().map(|p| gets_answered(*p)).sum::<u64>() - before;
    // A background check may find a replica behind for a moment: then its master answers.
    assert!(
        answered >= keys.len() as u64 * 9 / 10,
        "{answered} of {} GETs went to a replica (READONLY)",
        keys.len()
    );
    cluster.execute(&["FLUSHALL"]).unwrap();
}

fn slots_migrate_under_load(servers: &RedisClusterServers, cluster: &Cluster) {
    let nodes = cluster_nodes(servers.base);
    let id_of = |port: u16| nodes.iter().find(|n| n.1 == port).unwrap().0.clone();
    let load = Load::start(cluster, "migrate", 0..1000);
    thread::sleep(Duration::from_millis(300));
    let moved = Command::new("redis-cli")
        .args([
            "--cluster",
            "reshard",
            &format!("127.0.0.1:{}", servers.base),
        ])
        .args(["--cluster-from", &id_of(servers.base)])
        .args(["--cluster-to", &id_of(servers.base + 1)])
        .args([
            "--cluster-slots",
            "1000",
            "--cluster-yes",
            "--cluster-pipeline",
            "10",
        ])
        .output()
        .unwrap();
    assert!(
        moved.status.success(),
        "reshard: {}",
        String::from_utf8_lossy(&moved.stderr)
    );
    thread::sleep(Duration::from_millis(300));
    let writes = load.finish(cluster);
    assert!(writes > 1000, "the load ran ({writes} writes)");
    // The client's map follows: a key of a moved slot is served by its new master.
    let key = (0..)
        .map(|i| format!("moved:{i}"))
        .find(|k| slot_of(k.as_bytes()) < 1000)
        .unwrap();
    cluster.execute(&["SET", &key, "1"]).unwrap();
    assert_eq!(cluster.node_config_for(&key).port, servers.base + 1);
}

fn a_replica_takes_over_under_load(servers: &RedisClusterServers, cluster: &Cluster) {
    // The third master and its replica (the layout tests/cluster.sh made).
    let (old_master, replica) = (servers.base + 2, servers.base + 5);
    // A client reading from replicas, built before the failover.
    let readers = Cluster::new(servers.config(true)).unwrap();
    assert!(readers.wait_for_replica_check(Duration::from_secs(10)));
    // The third master's slots, 10923..16383.
    let load = Load::start(cluster, "failover", 10923..16384);
    thread::sleep(Duration::from_millis(300));
    let reply: String = redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .query(&mut direct(replica))
        .unwrap();
    assert_eq!(reply, "OK");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cluster_nodes(replica).iter().any(|n| n.1 == replica && n.2) {
        assert!(Instant::now() < deadline, "the replica did not take over");
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(500));
    let writes = load.finish(cluster);
    assert!(writes > 1000, "the load ran ({writes} writes)");
    let ports: BTreeSet<u16> = cluster.masters().iter().map(|m| m.port).collect();
    assert!(
        ports.contains(&replica) && !ports.contains(&old_master),
        "masters now: {ports:?}"
    );
    assert_eq!(ports.len(), 3);
    // The replica-reading client follows too: every key readable, none stale, no redirect
    // reaches the caller (the demoted master is a replica now; READONLY makes it answer).
    let keys: Vec<String> = (0..300).map(|i| format!("after:{i}")).collect();
    for key in &keys {
        cluster.execute(&["SET", key, key]).unwrap();
    }
    for port in ports {
        let _: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(2000)
            .query(&mut direct(port))
            .unwrap();
    }
    readers.discover_replicas().unwrap();
    for key in &keys {
        assert_eq!(readers.execute(&["GET", key]).unwrap(), bulk(key), "{key}");
    }
}

/// `kill -9` of a master (no coordinated failover): the cluster promotes its replica after its
/// node timeout, and the client, reading from masters only, finds the new master on its own
/// (the map read again in the background and after the failed call), with the data.
fn a_master_dies_and_reads_come_back(servers: &RedisClusterServers, cluster: &Cluster) {
    let key = "dies:1";
    cluster.execute(&["SET", key, "kept"]).unwrap();
    let port = cluster.node_config_for(key).port;
    let _: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(2000)
        .query(&mut direct(port))
        .unwrap();
    let pidfile = servers.state.join(port.to_string()).join("redis.pid");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let killed = Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failures = 0;
    loop {
        match cluster.execute(&["GET", key]) {
            Ok(value) => {
                assert_eq!(value, bulk("kept"));
                break;
            }
            Err(error) => {
                assert!(Instant::now() < deadline, "no master for {key}: {error}");
                failures += 1;
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    assert!(
        failures > 0,
        "the reads failed while the cluster had no master for the slot"
    );
    let ports: Vec<u16> = cluster.masters().iter().map(|m| m.port).collect();
    assert!(
        !ports.contains(&port),
        "{port} is gone from the masters: {ports:?}"
    );
}

fn config_errors() {
    let refused = [
        (serde_json::json!({"redis_cluster": {"nodes": []}}), "empty"),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}, "nodes": {}}),
            "'nodes' does not apply",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}, "tags": "strip"}),
            "'tags' does not apply",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}, "db": 2}),
            "only database 0",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["redis://h:1/3"]}}),
            "only database 0",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h"]}}),
            "host:port",
        ),
        (
            serde_json::json!({"redis_cluster": {"seeds": ["h:1"]}}),
            "unknown option 'seeds'",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}, "cross_node_transactions": "per_node"}),
            "one slot",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}, "previous": {"redis_cluster": {"nodes": ["h:2"]}}}),
            "not from one Redis Cluster to another",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}, "previous": {"nodes": {"a": {"host": "h", "port": 2}}, "previous": {"nodes": {}}}}),
            "without its own 'previous'",
        ),
        (
            serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}, "previous": {"nodes": {"a": {"host": "h", "port": "x"}}}}),
            "'port' must be an integer",
        ),
    ];
    for (config, expected) in refused {
        let error = ClusterConfig::from_value(&config).unwrap_err().to_string();
        assert!(error.contains(expected), "{config}: {error}");
    }
    // `previous`: the client-side deployment of a live move, with its own placement (tags
    // stripped by default), inheriting the credentials.
    let moving = serde_json::json!({
        "redis_cluster": {"nodes": ["h:1"]},
        "password": "s3cret",
        "previous": {
            "nodes": {"node_1": {"host": "h", "port": 2}, "node_2": {"host": "h", "port": 3}},
            "routing_rules": ["^(rule):"],
        },
    });
    let config = ClusterConfig::from_value(&moving).unwrap();
    let old = config.previous_placement();
    assert_eq!(config.previous.as_ref().unwrap().len(), 2);
    assert!(config.previous.as_ref().unwrap()[1].password.is_some());
    assert_eq!(old.split(b"bar{foo}").stored, b"bar");
    assert_eq!(old.split(b"rule:x{y}").stored, b"rule:x{y}");
    for seed in [
        "REDIS://:s3cret@h:1/2",
        "redis:/:s3cret@h:1",
        "redis//:s3cret@h",
    ] {
        let config = serde_json::json!({"redis_cluster": {"nodes": [seed]}});
        let error = match ClusterConfig::from_value(&config) {
            Ok(config) => Cluster::new(config).unwrap_err().to_string(),
            Err(error) => error.to_string(),
        };
        assert!(!error.contains("s3cret"), "{seed}: {error}");
    }
    // No node answers: the error names the last one tried, with no password.
    let config =
        serde_json::json!({"redis_cluster": {"nodes": ["127.0.0.1:1"]}, "password": "s3cret"});
    let error = Cluster::new(ClusterConfig::from_value(&config).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("127.0.0.1:1") && !error.contains("s3cret"),
        "{error}"
    );
}
