//! The placement contract against the golden vectors: computed (every row, N = 1..16) and
//! physical (every key written through the cluster sits on the expected master, under its
//! stored name, and on no other). The same for the opt-in modes of
//! `tests/vectors/placement_modes.json` (tags kept, routing rules), chosen by config.

mod support;

use cluster_core::placement::{Placement, TagMode, master_index, master_index_for_key, split_tag};
use cluster_core::{Cluster, ClusterConfig, Value};
use redis::Commands;
use support::{RedisServer, cluster_of, config_of, slot, start_masters, vectors};

/// `base` (a config with its nodes) with a mode's placement options added.
fn with_mode(mut base: serde_json::Value, mode: &vectors::Mode) -> ClusterConfig {
    for (option, value) in mode.config.as_object().expect("a mode's config is a map") {
        base[option] = value.clone();
    }
    ClusterConfig::from_value(&base).unwrap_or_else(|e| panic!("mode {}: {e}", mode.name))
}

/// A config of `n` masters that nothing connects to (placement needs only their number).
fn nodes(n: usize) -> serde_json::Value {
    let nodes: serde_json::Map<String, serde_json::Value> = (1..=n)
        .map(|i| {
            (
                format!("node_{i}"),
                serde_json::json!({"host": "127.0.0.1", "port": 1000 + i}),
            )
        })
        .collect();
    serde_json::json!({ "nodes": nodes, "mastersonly": true })
}

#[test]
fn every_vector_routes_and_stores_as_the_oracle_says() {
    let vectors = vectors::load();
    assert!(
        vectors.len() >= 500,
        "at least 500 vectors, got {}",
        vectors.len()
    );
    for v in &vectors {
        let tagged = split_tag(&v.key);
        assert_eq!(tagged.route, v.route.as_slice(), "route of {:?}", v.key);
        assert_eq!(
            tagged.stored,
            v.stored.as_slice(),
            "stored name of {:?}",
            v.key
        );
        assert_eq!(tagged.is_tagged(), v.tagged, "tagged? {:?}", v.key);
        assert_eq!(v.nodes.len(), 16, "expectations for N = 1..16");
        for (n, expected) in (1..=16).zip(&v.nodes) {
            assert_eq!(
                master_index(&v.route, n) + 1,
                *expected,
                "{:?} with {n} masters",
                v.key
            );
            assert_eq!(
                master_index_for_key(&v.key, n) + 1,
                *expected,
                "{:?} with {n} masters",
                v.key
            );
        }
    }
}

#[test]
fn the_vectors_cover_the_contract_cases() {
    let vectors = vectors::load();
    for kind in ["seed", "edge", "ascii", "utf8", "binary", "integer", "tag"] {
        assert!(vectors.iter().any(|v| v.kind == kind), "no {kind} vectors");
    }
    let node_of = |key: &[u8], n: usize| {
        vectors
            .iter()
            .find(|v| v.key == key)
            .map(|v| v.nodes[n - 1])
    };
    assert_eq!(node_of(b"foo", 2), Some(2), "the seed: foo on node_2");
    assert_eq!(node_of(b"bar", 2), Some(1), "the seed: bar on node_1");
    for edge in [
        &b"a{b}"[..],
        b"{b}",
        b"a{}",
        b"a{b}c",
        b"a{b}{c}",
        b"a{{b}}",
        b"}",
        b"{",
    ] {
        assert!(
            node_of(edge, 1).is_some(),
            "edge case {:?} missing",
            String::from_utf8_lossy(edge)
        );
    }
}

#[test]
fn every_mode_vector_routes_and_stores_as_the_oracle_says() {
    let modes = vectors::load_modes();
    let names: Vec<&str> = modes.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["keep", "rules", "rules-keep"]);
    for mode in &modes {
        assert!(
            mode.vectors.len() >= 1000,
            "{}: {} vectors",
            mode.name,
            mode.vectors.len()
        );
        assert!(
            mode.vectors.iter().any(|v| v.kind == "mode"),
            "{}: no mode keys",
            mode.name
        );
        let placement = with_mode(nodes(1), mode).placement;
        assert!(!placement.is_default(), "{} is not the default", mode.name);
        for v in &mode.vectors {
            let split = placement.split(&v.key);
            let what = |field: &str| format!("{} of {:?} in mode {}", field, v.key, mode.name);
            assert_eq!(split.route, v.route.as_slice(), "{}", what("route"));
            assert_eq!(split.stored, v.stored.as_slice(), "{}", what("stored name"));
            let rule = placement.rules.first_match(&v.key).map(|(at, _)| at);
            assert_eq!(rule, v.rule, "{}", what("rule"));
            for (n, expected) in (1..=16).zip(&v.nodes) {
                assert_eq!(
                    placement.master_index(&v.key, n) + 1,
                    *expected,
                    "{} N={n}",
                    what("node")
                );
            }
        }
        // The engine's answer for a whole cluster (what getnodefor and nodefor show), by
        // configuration alone.
        for n in [2, 3, 16] {
            let cluster = Cluster::new(with_mode(nodes(n), mode)).unwrap();
            for v in &mode.vectors {
                assert_eq!(cluster.node_for(&v.key), format!("node_{}", v.nodes[n - 1]));
            }
        }
    }
}

#[test]
fn the_rust_builder_and_the_dict_choose_the_same_placement() {
    for mode in vectors::load_modes() {
        let mut built = ClusterConfig::from_value(&nodes(3)).unwrap();
        if mode.config.get("tags").is_some() {
            built = built.tags(TagMode::Keep);
        }
        if let Some(rules) = mode.config.get("routing_rules") {
            let rules: Vec<&str> = rules
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            built = built.routing_rules(&rules).unwrap();
        }
        assert_eq!(built, with_mode(nodes(3), &mode), "mode {}", mode.name);
    }
    assert_eq!(
        ClusterConfig::from_value(&nodes(3)).unwrap().placement,
        Placement::default()
    );
}

/// The tests that start servers share this binary's three ports: one at a time.
static SERVERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn three_servers() -> (std::sync::MutexGuard<'static, ()>, Vec<RedisServer>) {
    let turn = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
    (turn, start_masters(slot::PLACEMENT, 3))
}

#[test]
fn every_vector_key_is_physically_on_its_master() {
    let (_turn, servers) = three_servers();
    let cluster = cluster_of(&servers);
    let vectors = vectors::load();
    let mut con = cluster.handle();
    let mut direct: Vec<redis::Connection> = servers.iter().map(RedisServer::connect).collect();
    for v in &vectors {
        // Tagged keys share stored names (`a{b}`, `a{c}` are both `a`): start each key clean.
        let _: Value = redis::cmd("FLUSHALL").query(&mut con).unwrap();
        let _: () = con.set(&v.key, b"value").unwrap();
        let expected = v.nodes[2] - 1;
        assert_eq!(cluster.node_for(&v.key), format!("node_{}", expected + 1));
        for (i, server) in direct.iter_mut().enumerate() {
            let here: bool = server.exists(&v.stored).unwrap();
            assert_eq!(
                here,
                i == expected,
                "{:?} stored as {:?} on node_{}",
                v.key,
                v.stored,
                i + 1
            );
            if v.tagged {
                let full: bool = server.exists(&v.key).unwrap();
                assert!(!full, "{:?} must be stored without its tag", v.key);
            }
        }
        let back: Vec<u8> = con.get(&v.key).unwrap();
        assert_eq!(back, b"value");
    }

    // The opt-in modes on the same servers: each key under its stored name on its master only.
    for mode in vectors::load_modes() {
        let mut config = config_of(&servers);
        config["mastersonly"] = true.into();
        let cluster = Cluster::new(with_mode(config, &mode)).unwrap();
        let mut con = cluster.handle();
        for v in &mode.vectors {
            let _: Value = redis::cmd("FLUSHALL").query(&mut con).unwrap();
            let _: () = con.set(&v.key, b"value").unwrap();
            let expected = v.nodes[2] - 1;
            for (i, server) in direct.iter_mut().enumerate() {
                let here: bool = server.exists(&v.stored).unwrap();
                assert_eq!(
                    here,
                    i == expected,
                    "mode {}: {:?} stored as {:?} on node_{}",
                    mode.name,
                    v.key,
                    v.stored,
                    i + 1
                );
            }
            let back: Vec<u8> = con.get(&v.key).unwrap();
            assert_eq!(back, b"value", "mode {}: {:?}", mode.name, v.key);
        }
    }
}

/// Two tags whose keys share a master among three.
fn two_tags_on_one_master() -> (String, String) {
    let a = "a".to_owned();
    let b = (0..)
        .map(|i| format!("b{i}"))
        .find(|b| master_index(b.as_bytes(), 3) == master_index(a.as_bytes(), 3))
        .unwrap();
    (a, b)
}

#[test]
fn kept_tags_keep_names_apart_and_every_reply_names_the_callers_key() {
    let (_turn, servers) = three_servers();
    let mut direct: Vec<redis::Connection> = servers.iter().map(RedisServer::connect).collect();
    let (a, b) = two_tags_on_one_master();
    let (limit_a, limit_b) = (format!("LIMITS:{{{a}}}"), format!("LIMITS:{{{b}}}"));

    // The default mode's hazard, shown: both keys are the one stored key `LIMITS:`.
    let stripping = cluster_of(&servers);
    let mut con = stripping.handle();
    let _: () = con.set(&limit_a, "hits of a").unwrap();
    let _: () = con.set(&limit_b, "hits of b").unwrap();
    let read: String = con.get(&limit_a).unwrap();
    assert_eq!(
        read, "hits of b",
        "stripping: {limit_a} and {limit_b} collide"
    );
    let _: Value = redis::cmd("FLUSHALL").query(&mut con).unwrap();

    let mut config = config_of(&servers);
    config["mastersonly"] = true.into();
    config["tags"] = "keep".into();
    let keeping = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    let mut con = keeping.handle();
    let _: () = con.set(&limit_a, "hits of a").unwrap();
    let _: () = con.set(&limit_b, "hits of b").unwrap();
    let read: Vec<String> = con.mget(&[&limit_a, &limit_b]).unwrap();
    assert_eq!(read, ["hits of a", "hits of b"], "keep: two keys");
    let node = master_index(a.as_bytes(), 3);
    let stored: Vec<String> = direct[node].keys("LIMITS:*").unwrap();
    let mut stored = stored;
    stored.sort();
    assert_eq!(
        stored,
        [limit_a.clone(), limit_b.clone()],
        "stored under their full names"
    );
    // Redis Cluster's tag anywhere in the key: `{user1}:followers` is user1's.
    assert_eq!(
        keeping.node_for("{user1}:followers"),
        keeping.node_for("user1")
    );

    // KEYS and SCAN answer stored names, which are the caller's names.
    let mut keys: Vec<String> = con.keys("LIMITS:*").unwrap();
    keys.sort();
    assert_eq!(keys, [limit_a.clone(), limit_b.clone()]);
    let mut scanned: Vec<String> = con
        .scan_match("LIMITS:*")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    scanned.sort();
    assert_eq!(scanned, keys);

    // A pop naming its key: the name as written, alone and in a pipeline.
    let queue = format!("q:{{{a}}}");
    let _: () = con.rpush(&queue, "job").unwrap();
    let popped: (String, String) = con.blpop(&[&format!("q:{{{b}}}"), &queue], 1.0).unwrap();
    assert_eq!(popped, (queue.clone(), "job".to_owned()));
    let _: () = con.rpush(&queue, "job2").unwrap();
    let (piped,): ((String, String),) = redis::pipe()
        .cmd("BLPOP")
        .arg(&queue)
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert_eq!(piped, (queue.clone(), "job2".to_owned()));

    // An emulated command over masters, with kept names (SUNIONSTORE of two tags' sets).
    let other = (0..)
        .map(|i| format!("t{i}"))
        .find(|t| master_index(t.as_bytes(), 3) != node)
        .unwrap();
    let (set_a, set_o) = (format!("s:{{{a}}}"), format!("s:{{{other}}}"));
    let _: () = con.sadd(&set_a, "x").unwrap();
    let _: () = con.sadd(&set_o, "y").unwrap();
    let count: usize = con.sunionstore(&set_a, &[&set_a, &set_o]).unwrap();
    assert_eq!(count, 2);
    let members: bool = direct[node].sismember(&set_a, "y").unwrap();
    assert!(
        members,
        "the union stored under {set_a} itself on its master"
    );
}

#[test]
fn a_routing_rule_puts_a_librarys_keys_together_under_their_own_names() {
    let (_turn, servers) = three_servers();
    let mut direct: Vec<redis::Connection> = servers.iter().map(RedisServer::connect).collect();
    let plain = cluster_of(&servers);
    // A lock name whose two keys the contract puts apart: the rule is what brings them together.
    let name = (0..)
        .map(|i| format!("job{i}"))
        .find(|n| plain.node_for(format!("lock:{n}")) != plain.node_for(format!("lock-signal:{n}")))
        .unwrap();
    let (lock, signal) = (format!("lock:{name}"), format!("lock-signal:{name}"));
    let mut config = config_of(&servers);
    config["mastersonly"] = true.into();
    config["routing_rules"] = serde_json::json!(["^lock(?:-signal)?:(.+)$"]);
    let ruled = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    assert_eq!(ruled.node_for(&lock), ruled.node_for(&signal));
    assert_eq!(
        ruled.node_for(&lock),
        plain.node_for(&name),
        "routed by the name"
    );
    let mut con = ruled.handle();
    // A command over both keys runs on one master, as is (what the lock's scripts need).
    let _: () = con.rpush(&signal, "1").unwrap();
    let moved: String = redis::cmd("LMOVE")
        .arg(&signal)
        .arg(&lock)
        .arg("LEFT")
        .arg("RIGHT")
        .query(&mut con)
        .unwrap();
    assert_eq!(moved, "1");
    let node = master_index(name.as_bytes(), 3);
    let here: bool = direct[node].exists(&lock).unwrap();
    assert!(here, "{lock} stored under its own name on {name}'s master");
    let script: i64 = redis::cmd("EVAL")
        .arg("return redis.call('LLEN', KEYS[1]) + redis.call('EXISTS', KEYS[2])")
        .arg(2)
        .arg(&lock)
        .arg(&signal)
        .query(&mut con)
        .unwrap();
    assert_eq!(script, 1);
}
