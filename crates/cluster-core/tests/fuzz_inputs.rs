//! Property tests over everything a user hands the engine before a server is involved: the
//! config parser (random JSON shaped like a config, and random values anywhere in it), URLs,
//! the hash-tag rule, and the packed commands `redis::ConnectionLike` hands the handle. Nothing
//! may panic; bad input is an error that says what is wrong and never quotes a password. (The
//! router has its own random-command test in router_fuzz.rs; the RESP reader's and the request
//! parser's properties live next to them in src/wire/.)

use cluster_core::placement::{
    Placement, RoutingRules, TagMode, cluster_tag, master_index_for_key, split_tag,
};
use cluster_core::{ClusterConfig, ConfigError};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The passwords of the configs below; no random value is ever this text, so seeing it in
/// an error or a debug print means a password leaked.
const SECRET: &str = "pw-never-shown";

/// Any JSON value, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("127.0.0.1".to_owned()),
            Just("node_1".to_owned()),
            Just("node_2".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys a config has, and some it does not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("nodes"),
        Just("host"),
        Just("port"),
        Just("db"),
        Just("password"),
        Just("username"),
        Just("master_of"),
        Just("mastersonly"),
        Just("socket_timeout"),
        Just("socket_connect_timeout"),
        Just("ssl"),
        Just("ssl_cert_reqs"),
        Just("max_replica_lag"),
        Just("replica_check_interval"),
        Just("previous"),
        Just("node_1"),
        Just("node_2"),
        Just("node_3"),
        Just("other"),
    ]
    .prop_map(str::to_owned)
}

/// A valid config with one part replaced by a random value.
fn mutated_config() -> impl Strategy<Value = Value> {
    let base = json!({
        "nodes": {
            "node_1": {"host": "127.0.0.1", "port": 7000},
            "node_2": {"host": "127.0.0.1", "port": 7001, "password": SECRET},
            "node_3": {"host": "127.0.0.1", "port": 7002},
        },
        "master_of": {"node_1": "node_3"},
        "password": SECRET,
        "socket_timeout": 1.5,
        "max_replica_lag": 3,
        "previous": {"nodes": {"node_1": {"host": "127.0.0.1", "port": 7010}}},
    });
    let paths: Vec<Vec<&'static str>> = vec![
        vec!["nodes"],
        vec!["nodes", "node_1"],
        vec!["nodes", "node_1", "port"],
        vec!["nodes", "node_2", "host"],
        vec!["nodes", "node_2", "password"],
        vec!["nodes", "node_3", "db"],
        vec!["master_of"],
        vec!["master_of", "node_1"],
        vec!["password"],
        vec!["socket_timeout"],
        vec!["max_replica_lag"],
        vec!["replica_check_interval"],
        vec!["ssl"],
        vec!["ssl_cert_reqs"],
        vec!["previous"],
        vec!["previous", "nodes", "node_1", "port"],
        vec!["mastersonly"],
        vec!["db"],
    ];
    (proptest::sample::select(paths), any_json()).prop_map(move |(path, value)| {
        let mut config = base.clone();
        let mut at = &mut config;
        for step in &path[..path.len() - 1] {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(*step)
                .or_insert(json!({}));
        }
        if let Some(map) = at.as_object_mut() {
            map.insert(path[path.len() - 1].to_owned(), value);
        }
        config
    })
}

fn check_outcome(result: Result<ClusterConfig, ConfigError>) -> Result<(), TestCaseError> {
    match result {
        Ok(config) => {
            prop_assert!(!config.masters.is_empty());
            for (i, master) in config.masters.iter().enumerate() {
                prop_assert_eq!(&master.name, &format!("node_{}", i + 1));
            }
            prop_assert_eq!(config.replicas.len(), config.masters.len());
            let shown = format!("{config:?}");
            prop_assert!(!shown.contains(SECRET));
        }
        Err(error) => {
            let text = error.to_string();
            prop_assert!(!text.is_empty());
            prop_assert!(!text.contains(SECRET), "{}", text);
        }
    }
    Ok(())
}

proptest! {
    // No regression files: CI runs on a clean clone; a failure prints its minimal input.
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_json_never_panics(value in any_json()) {
        check_outcome(ClusterConfig::from_value(&value))?;
        check_outcome(ClusterConfig::from_value(&json!({ "nodes": value })))?;
    }

    #[test]
    fn a_valid_config_with_one_random_part_never_panics(config in mutated_config()) {
        check_outcome(ClusterConfig::from_value(&config))?;
    }

    #[test]
    fn random_json_text_never_panics(text in ".{0,80}") {
        check_outcome(ClusterConfig::from_json(&text))?;
    }

    #[test]
    fn random_urls_never_panic(
        scheme in prop_oneof![Just("redis://"), Just("rediss://"), Just("http://"), Just("")],
        user in prop_oneof![Just(String::new()), Just(format!(":{SECRET}@")), Just(format!("u:{SECRET}@")), "[a-z:%@]{0,8}"],
        host in prop_oneof![Just("127.0.0.1".to_owned()), Just("[::1]".to_owned()), "[a-z0-9.:\\[\\]%]{0,12}"],
        port in prop_oneof![Just(String::new()), Just(":7000".to_owned()), ":[0-9-]{0,7}"],
        path in prop_oneof![Just(String::new()), Just("/3".to_owned()), "/[0-9a-z?=&%_/]{0,16}"],
    ) {
        let url = format!("{scheme}{user}{host}{port}{path}");
        match ClusterConfig::from_urls(&[url.as_str()]) {
            Ok(config) => {
                let shown = format!("{config:?}");
            prop_assert!(!shown.contains(SECRET));
            }
            Err(error) => {
                let text = error.to_string();
                prop_assert!(!text.contains(SECRET), "{} from {}", text, url);
            }
        }
    }

    #[test]
    fn the_tag_rule_is_total_and_consistent(key in proptest::collection::vec(
        prop_oneof![Just(b'{'), Just(b'}'), Just(b'a'), Just(b'b'), any::<u8>()], 0..16),
        masters in 1usize..64,
    ) {
        let split = split_tag(&key);
        // The stored name is a prefix of the key; the tag sits between the last '{' and the
        // final '}'; a tagged key routes exactly as its tag does on its own.
        prop_assert!(key.starts_with(split.stored));
        if split.is_tagged() {
            prop_assert_eq!(key.last(), Some(&b'}'));
            prop_assert!(!split.stored.is_empty() && !split.route.is_empty());
            let has_open = split.route.contains(&b'{');
            prop_assert!(!has_open);
            prop_assert_eq!(split.stored.len() + split.route.len() + 2, key.len());
            prop_assert_eq!(
                master_index_for_key(&key, masters),
                master_index_for_key(split.route, masters)
            );
        } else {
            prop_assert_eq!(split.stored, key.as_slice());
        }
        prop_assert!(master_index_for_key(&key, masters) < masters);
    }

    #[test]
    fn the_opt_in_placements_never_rename_and_route_by_a_part_of_the_key(key in proptest::collection::vec(
        prop_oneof![Just(b'{'), Just(b'}'), Just(b'l'), Just(b':'), Just(b'\n'), any::<u8>()], 0..16),
        masters in 1usize..64,
    ) {
        let rules = RoutingRules::new(&[r"^l(?:l)?:(.+)$", r"(?P<route>\{[^}]*)"]).unwrap();
        for placement in [
            Placement::new(TagMode::Keep, RoutingRules::default()),
            Placement::new(TagMode::Strip, rules.clone()),
            Placement::new(TagMode::Keep, rules.clone()),
        ] {
            let placed = placement.place(&key, masters);
            prop_assert!(placed.shard < masters);
            let route_inside = key.windows(placed.route.len().max(1)).any(|w| w == placed.route)
                || placed.route == key.as_slice();
            prop_assert!(route_inside, "the route is a part of the key");
            match placement.rules.first_match(&key) {
                Some((_, route)) => {
                    prop_assert!(!route.is_empty());
                    prop_assert_eq!(placed.stored, key.as_slice(), "a rule never renames");
                }
                None if placement.tags == TagMode::Keep => {
                    prop_assert_eq!(placed.stored, key.as_slice());
                    prop_assert_eq!(placed.route, cluster_tag(&key));
                }
                None => prop_assert_eq!(placed.stored, split_tag(&key).stored),
            }
        }
    }

    /// `req_packed_command` is public: whatever bytes it is given, malformed frames included
    /// (lengths that overflow, counts larger than the input), it answers an error or a reply,
    /// and never panics. The cluster's only node listens nowhere, so a frame that parses fails
    /// to connect, at once.
    #[test]
    fn packed_commands_from_anyone_never_panic(bytes in packed_like()) {
        use redis::ConnectionLike;
        let mut handle = unreachable_cluster().handle();
        let _ = handle.req_packed_command(&bytes);
        let _ = handle.req_packed_commands(&bytes, 0, 1);
    }
}

/// Bytes shaped like packed RESP commands, with lengths of every size.
fn packed_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        any::<u64>().prop_map(|n| format!("*{n}\r\n").into_bytes()),
        any::<u64>().prop_map(|n| format!("${n}\r\n").into_bytes()),
        (0usize..4).prop_map(|n| format!("*{n}\r\n").into_bytes()),
        (0usize..8).prop_map(|n| format!("${n}\r\n").into_bytes()),
        Just(b"PING\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..6),
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|pieces| pieces.concat())
}

/// One cluster for the whole test, whose node refuses connections (a port bound, then closed).
fn unreachable_cluster() -> &'static cluster_core::Cluster {
    static CLUSTER: std::sync::OnceLock<cluster_core::Cluster> = std::sync::OnceLock::new();
    CLUSTER.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let config = ClusterConfig::from_nodes([("node_1", format!("127.0.0.1:{port}"))])
            .unwrap()
            .masters_only(true);
        cluster_core::Cluster::new(config).unwrap()
    })
}
