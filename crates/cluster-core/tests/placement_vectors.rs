//! The placement contract against the golden vectors: computed (every row, N = 1..16) and
//! physical (every key written through the cluster sits on the expected master, under its
//! stored name, and on no other).

mod support;

use cluster_core::Value;
use cluster_core::placement::{master_index, master_index_for_key, split_tag};
use redis::Commands;
use support::{RedisServer, cluster_of, slot, start_masters, vectors};

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
fn every_vector_key_is_physically_on_its_master() {
    let servers = start_masters(slot::PLACEMENT, 3);
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
}
