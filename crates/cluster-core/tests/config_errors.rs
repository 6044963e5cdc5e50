//! Every bad configuration is refused with a message naming the problem, before anything is
//! connected (checked on a real server's connection counter), and never shows a password.

mod support;

use cluster_core::{Cluster, ClusterConfig, ConfigError};
use serde_json::json;
use support::{RedisServer, port, slot};

fn error_of(config: serde_json::Value) -> String {
    ClusterConfig::from_value(&config)
        .expect_err(&format!("{config} must be refused"))
        .to_string()
}

fn node(port: serde_json::Value) -> serde_json::Value {
    json!({"host": "127.0.0.1", "port": port})
}

#[test]
fn missing_or_empty_nodes() {
    assert!(error_of(json!({})).contains("'nodes'"));
    assert!(error_of(json!({"master_of": {}})).contains("'nodes'"));
    assert!(error_of(json!({"nodes": null})).contains("'nodes'"));
    assert!(error_of(json!({"nodes": {}})).contains("empty"));
    assert!(error_of(json!({"nodes": ["127.0.0.1:7000"]})).contains("'nodes'"));
    assert!(error_of(json!("node_1")).contains("map"));
}

#[test]
fn bad_ports_name_the_port_and_the_value() {
    for (bad, shown) in [
        (json!(7201.5), "7201.5"),
        (json!(null), "null"),
        (json!([7000]), "list"),
        (json!("7000"), "'7000'"),
        (json!(0), "0"),
        (json!(65536), "65536"),
        (json!(-1), "-1"),
        (json!(true), "true"),
    ] {
        let message = error_of(json!({"nodes": {"node_1": node(bad.clone())}}));
        assert!(
            message.contains("port") && message.contains(shown),
            "{bad}: {message}"
        );
        assert!(message.contains("node_1"), "{message}");
    }
    let message = error_of(json!({"nodes": {"node_1": {"host": "127.0.0.1"}}}));
    assert!(message.contains("port"), "{message}");
}

#[test]
fn master_names_must_be_node_1_to_n_without_gaps() {
    let two = |a: &str, b: &str| json!({"nodes": {a: node(json!(7000)), b: node(json!(7001))}});
    assert!(error_of(two("node_1", "node_3")).contains("node_1..node_2"));
    assert!(error_of(two("node_0", "node_1")).contains("'node_0'"));
    assert!(error_of(two("node_1", "redis_b")).contains("'redis_b'"));
    assert!(error_of(two("node_1", "node_02")).contains("'node_02'"));
    assert!(
        ClusterConfig::from_value(&two("node_2", "node_1")).is_ok(),
        "order in the map does not matter"
    );
}

#[test]
fn duplicates_unknown_names_and_wrong_types() {
    let dup = json!({"nodes": {"node_1": node(json!(7000)), "node_2": node(json!(7000))}});
    let message = error_of(dup);
    assert!(
        message.contains("node_1")
            && message.contains("node_2")
            && message.contains("127.0.0.1:7000"),
        "{message}"
    );
    let unknown =
        json!({"nodes": {"node_1": node(json!(7000))}, "master_of": {"node_1": "node_9"}});
    assert!(error_of(unknown).contains("node_9"));
    let unknown_master =
        json!({"nodes": {"node_1": node(json!(7000))}, "master_of": {"node_7": "node_1"}});
    assert!(error_of(unknown_master).contains("node_7"));
    let two_masters = json!({"nodes": {"node_1": node(json!(7000)), "node_2": node(json!(7001)), "r": node(json!(7002))},
        "master_of": {"node_1": "r", "node_2": "r"}});
    assert!(error_of(two_masters).contains("both"));
    assert!(
        error_of(json!({"nodes": {"node_1": node(json!(7000))}, "mastersonly": "yes"}))
            .contains("mastersonly")
    );
    assert!(error_of(json!({"nodes": {"node_1": node(json!(7000))}, "db": -1})).contains("db"));
    assert!(error_of(json!({"nodes": {"node_1": node(json!(7000))}, "db": 1.5})).contains("db"));
    assert!(error_of(json!({"nodes": {"node_1": {"host": "", "port": 7000}}})).contains("host"));
    assert!(
        error_of(json!({"nodes": {"node_1": {"host": "h", "port": 7000, "prot": 1}}}))
            .contains("'prot'")
    );
    assert!(
        error_of(json!({"nodes": {"node_1": {"host": "h", "port": 7000, "socket_timeout": 0}}}))
            .contains("socket_timeout")
    );
    assert!(
        error_of(json!({"nodes": {"node_1": node(json!(7000))}, "master_of": "node_1"}))
            .contains("master_of")
    );
}

#[test]
fn passwords_never_appear_in_errors_or_debug_output() {
    let message =
        error_of(json!({"nodes": {"node_1": {"host": "h", "port": 7000, "password": 12345}}}));
    assert!(!message.contains("12345"), "{message}");
    let err = ClusterConfig::from_urls(&["redis://user:hunter2@127.0.0.1:notaport"])
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2") && err.contains("port"), "{err}");
    let err = ClusterConfig::from_urls(&["http://user:hunter2@h:1"])
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    let config = ClusterConfig::from_urls(&["redis://user:hunter2@127.0.0.1:7000/2"]).unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn urls_and_pairs_build_the_same_masters() {
    let config = ClusterConfig::from_urls(&[
        "redis://127.0.0.1:7000",
        "redis://:pw@127.0.0.1:7001/3",
        "redis://al%40ice:p%3Aw@[::1]:7002",
    ])
    .unwrap();
    let m = &config.masters;
    assert_eq!(
        (m[0].name.as_str(), m[0].port, m[0].db),
        ("node_1", 7000, 0)
    );
    assert_eq!(
        (
            m[1].name.as_str(),
            m[1].db,
            m[1].password.as_ref().map(|p| p.expose())
        ),
        ("node_2", 3, Some("pw"))
    );
    assert_eq!(
        (
            m[2].host.as_str(),
            m[2].username.as_deref(),
            m[2].password.as_ref().map(|p| p.expose())
        ),
        ("::1", Some("al@ice"), Some("p:w"))
    );
    let from_pairs =
        ClusterConfig::from_nodes([("node_1", "127.0.0.1:7000"), ("node_2", "127.0.0.1:7001")])
            .unwrap();
    assert_eq!(from_pairs.masters[1].addr(), "127.0.0.1:7001");
    assert!(
        ClusterConfig::from_nodes([("node_1", "127.0.0.1:7000"), ("node_3", "127.0.0.1:7001")])
            .is_err()
    );
    assert!(matches!(
        ClusterConfig::from_urls::<&str>(&[]),
        Err(ConfigError::EmptyNodes)
    ));
    assert!(
        ClusterConfig::from_urls(&["redis://127.0.0.1:7000", "redis://127.0.0.1:7000"]).is_err()
    );
}

#[test]
fn a_refused_config_connects_to_nothing() {
    let server = RedisServer::start(port(slot::CONFIG));
    let connections = || -> u64 {
        server
            .info("stats")
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = connections();
    // Valid first node (a real server), invalid second: nothing may be connected.
    let config =
        json!({"nodes": {"node_1": node(json!(server.port)), "node_2": node(json!("oops"))}});
    assert!(ClusterConfig::from_value(&config).is_err());
    let pairs = Cluster::from_nodes([
        ("node_1", server.addr().as_str()),
        ("node_3", "127.0.0.1:1"),
    ]);
    assert!(pairs.is_err());
    // `info` itself opens one connection each time it is called.
    assert_eq!(
        connections(),
        before + 1,
        "no connection was opened by a refused config"
    );
}

#[test]
fn test_port_slices_do_not_overlap() {
    // (Lives here because this binary is quick; the slices serve every test binary.)
    let mut slices = slot::SLICES;
    slices.sort();
    for pair in slices.windows(2) {
        assert!(
            pair[0].0 + pair[0].1 <= pair[1].0,
            "port slices overlap: {pair:?}"
        );
    }
    let (last, span) = slices[slices.len() - 1];
    assert!(last + span <= 180, "port slices run into the bench ports");
}

#[test]
fn previous_is_a_whole_config_validated_with_the_rest() {
    let nodes = |base: u16, n: u16| -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = (0..n)
            .map(|i| {
                (
                    format!("node_{}", i + 1),
                    serde_json::json!({"host": "127.0.0.1", "port": base + i}),
                )
            })
            .collect();
        serde_json::Value::Object(map)
    };
    let good = serde_json::json!({
        "nodes": nodes(7000, 5),
        "password": "shared",
        "previous": {"nodes": nodes(7000, 3)},
    });
    let config = ClusterConfig::from_value(&good).unwrap();
    let previous = config.previous.as_ref().unwrap();
    assert_eq!(previous.len(), 3);
    assert_eq!(previous[2].port, 7002);
    assert!(
        previous[0].password.is_some(),
        "the old masters inherit the credentials"
    );
    let bad_port = serde_json::json!({
        "nodes": nodes(7000, 5),
        "previous": {"nodes": {"node_1": {"host": "h", "port": "x"}}},
    });
    assert!(error_of(bad_port).contains("'port' must be an integer"));
    let nested = serde_json::json!({
        "nodes": nodes(7000, 5),
        "previous": {"nodes": nodes(7000, 3), "previous": {"nodes": nodes(7000, 2)}},
    });
    assert!(error_of(nested).contains("'previous'"));
    let not_a_map = serde_json::json!({"nodes": nodes(7000, 2), "previous": [1, 2]});
    assert!(!error_of(not_a_map).is_empty());

    // `previous` with its own distribution: an error in it says it is in 'previous'; a config
    // changed by the Rust builders so that the two would name keys differently is refused
    // when the cluster is made.
    let bad_old_slots = serde_json::json!({
        "nodes": nodes(7000, 2),
        "previous": {"nodes": {"node_1": {"host": "h", "port": 1, "slots": "0-100"}}, "distribution": "elastic"},
    });
    assert!(
        error_of(bad_old_slots).starts_with("'previous' 'distribution': slot 101"),
        "the error names 'previous'"
    );
    let window = serde_json::json!({
        "nodes": nodes(7000, 3),
        "distribution": "elastic",
        "tags": "keep",
        "previous": {"nodes": nodes(7100, 2), "distribution": "redisarray"},
    });
    let config = ClusterConfig::from_value(&window).unwrap();
    assert!(Cluster::new(config.clone()).is_ok());
    let renaming = config.tags(cluster_core::placement::TagMode::Strip);
    let Err(refused) = Cluster::new(renaming) else {
        panic!("a window that would rename keys is refused")
    };
    assert!(
        refused.to_string().contains("cannot rename keys"),
        "{refused}"
    );
}

/// `cross_node_transactions`: absent, null or `"refuse"` keep the default refusal;
/// `"per_node"` opts in; anything else is refused with a message that says what per-node
/// means (atomic on each master, not across them).
#[test]
fn cross_node_transactions_takes_refuse_or_per_node_and_says_what_per_node_means() {
    use cluster_core::CrossNodeTransactions;
    let with = |value: serde_json::Value| json!({"nodes": {"node_1": node(json!(7000))}, "cross_node_transactions": value});
    let parsed = |value| ClusterConfig::from_value(&with(value)).map(|c| c.cross_node_transactions);
    assert_eq!(parsed(json!(null)).unwrap(), CrossNodeTransactions::Refuse);
    assert_eq!(
        parsed(json!("refuse")).unwrap(),
        CrossNodeTransactions::Refuse
    );
    assert_eq!(
        parsed(json!("per_node")).unwrap(),
        CrossNodeTransactions::PerNode
    );
    let default = ClusterConfig::from_value(&json!({"nodes": {"node_1": node(json!(7000))}}));
    assert_eq!(
        default.unwrap().cross_node_transactions,
        CrossNodeTransactions::Refuse
    );
    for bad in [
        json!("per-node"),
        json!("PER_NODE"),
        json!(true),
        json!(1),
        json!(["per_node"]),
    ] {
        let message = error_of(with(bad.clone()));
        assert!(
            message.contains("'cross_node_transactions'"),
            "{bad}: {message}"
        );
        assert!(
            message.contains("not across masters") && message.contains("'per_node'"),
            "{bad}: {message}"
        );
    }
    // Only the top level takes it.
    let message = error_of(json!({"nodes": {"node_1": {
        "host": "127.0.0.1", "port": 7000, "cross_node_transactions": "per_node"}}}));
    assert!(message.contains("cross_node_transactions"), "{message}");
}

/// `keyless_scripts`: absent, null or `"one_master"` keep a keyless script on `node_1`;
/// `"every_master"` opts in; anything else is refused, saying what each value does.
#[test]
fn keyless_scripts_takes_one_master_or_every_master() {
    use cluster_core::KeylessScripts;
    let with = |value: serde_json::Value| json!({"nodes": {"node_1": node(json!(7000))}, "keyless_scripts": value});
    let parsed = |value| ClusterConfig::from_value(&with(value)).map(|c| c.keyless_scripts);
    assert_eq!(parsed(json!(null)).unwrap(), KeylessScripts::OneMaster);
    assert_eq!(
        parsed(json!("one_master")).unwrap(),
        KeylessScripts::OneMaster
    );
    assert_eq!(
        parsed(json!("every_master")).unwrap(),
        KeylessScripts::EveryMaster
    );
    let default = ClusterConfig::from_value(&json!({"nodes": {"node_1": node(json!(7000))}}));
    assert_eq!(default.unwrap().keyless_scripts, KeylessScripts::OneMaster);
    for bad in [
        json!("all"),
        json!("EVERY_MASTER"),
        json!(true),
        json!(["every_master"]),
    ] {
        let message = error_of(with(bad.clone()));
        assert!(message.contains("'keyless_scripts'"), "{bad}: {message}");
        assert!(
            message.contains("'every_master'") && message.contains("once each"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn placement_options_are_validated_whole_and_named() {
    let with = |extra: serde_json::Value| {
        let mut config = json!({"nodes": {"node_1": node(json!(7000))}});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        config
    };
    let bad_regex = error_of(with(json!({"routing_rules": ["^lock:(.+)$", "^lock:(.+"]})));
    assert!(
        bad_regex.contains("routing rule 2") && bad_regex.contains("^lock:(.+"),
        "{bad_regex}"
    );
    assert!(
        bad_regex.contains("not a valid regular expression"),
        "{bad_regex}"
    );
    let no_group = error_of(with(json!({"routing_rules": ["^lock:.+$"]})));
    assert!(
        no_group.contains("routing rule 1") && no_group.contains("no capture group"),
        "{no_group}"
    );
    let empty = error_of(with(json!({"routing_rules": ["^lock:()$"]})));
    assert!(empty.contains("empty route"), "{empty}");
    assert!(error_of(with(json!({"routing_rules": [""]}))).contains("empty rule"));
    assert!(
        error_of(with(json!({"routing_rules": "^lock:(.+)$"})))
            .contains("a list of regular expressions")
    );
    assert!(error_of(with(json!({"routing_rules": [7]}))).contains("rule 1"));
    let tags = error_of(with(json!({"tags": "kept"})));
    assert!(
        tags.contains("'tags'") && tags.contains("\"keep\"") && tags.contains("kept"),
        "{tags}"
    );
    assert!(error_of(with(json!({"tags": true}))).contains("'tags'"));
    let previous = error_of(with(json!({
        "tags": "keep",
        "previous": {"nodes": {"node_1": node(json!(7001))}, "tags": "keep"},
    })));
    assert!(
        previous.contains("'previous'") && previous.contains("'tags'"),
        "{previous}"
    );
    // The good ones, and null as the default.
    let good = ClusterConfig::from_value(&with(
        json!({"tags": "keep", "routing_rules": ["^lock(?:-signal)?:(.+)$"]}),
    ));
    assert!(good.is_ok());
    let defaults =
        ClusterConfig::from_value(&with(json!({"tags": null, "routing_rules": null}))).unwrap();
    assert!(defaults.placement.is_default());
}
