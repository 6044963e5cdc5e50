//! Placement throughput (keys/s) for 16-byte, 64-byte and tagged keys, beside the bare CRC-32
//! of the same bytes (the floor: what any crc32 % N client must pay), and the planning cost of
//! a whole command (table lookup, arity, key positions, tags), in the default placement and in
//! the opt-in ones (tags kept, routing rules, every `distribution`), which the default must not
//! pay for.

use std::hint::black_box;

use cluster_core::ClusterConfig;
use cluster_core::placement::{Placement, RoutingRules, TagMode, crc32, master_index_for_key};
use cluster_core::router::plan;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 1024;

fn keys(len: usize, tagged: bool) -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| {
            let mut key = format!("user:{i:08}:").into_bytes();
            key.resize(len, b'x');
            if tagged {
                key.truncate(len - 8);
                key.extend_from_slice(format!("{{t{:05}}}", i % 99999).as_bytes());
            }
            key
        })
        .collect()
}

fn placement(c: &mut Criterion) {
    let mut group = c.benchmark_group("placement");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (label, len, tagged) in [
        ("16B", 16, false),
        ("64B", 64, false),
        ("tagged-32B", 32, true),
    ] {
        let keys = keys(len, tagged);
        group.bench_function(format!("master_index/{label}"), |b| {
            b.iter(|| {
                for key in &keys {
                    black_box(master_index_for_key(black_box(key), 16));
                }
            })
        });
        group.bench_function(format!("bare_crc32/{label}"), |b| {
            b.iter(|| {
                for key in &keys {
                    black_box(crc32(black_box(key)) % 16);
                }
            })
        });
    }
    group.finish();
}

fn planning(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.throughput(Throughput::Elements(1));
    let get: [&[u8]; 2] = [b"GET", b"user:00001234:profile"];
    let hset_tagged: [&[u8]; 4] = [b"hset", b"profile{user:1234}", b"name", b"ann"];
    let mset_one_node: [&[u8]; 5] = [b"MSET", b"a{t}", b"1", b"b{t}", b"2"];
    let lock: [&[u8]; 2] = [b"GET", b"lock:job-0000001234"];
    let default = Placement::default();
    let keep = Placement::new(TagMode::Keep, RoutingRules::default());
    let lock_rule = RoutingRules::new(&[r"^lock(?:-signal)?:(.+)$"]).unwrap();
    let ruled = Placement::new(TagMode::Strip, lock_rule);
    group.bench_function("GET", |b| {
        b.iter(|| black_box(plan(black_box(&get), &default, 16).is_ok()))
    });
    group.bench_function("HSET tagged", |b| {
        b.iter(|| black_box(plan(black_box(&hset_tagged), &default, 16).is_ok()))
    });
    group.bench_function("MSET two tagged keys", |b| {
        b.iter(|| black_box(plan(black_box(&mset_one_node), &default, 16).is_ok()))
    });
    group.bench_function("GET tags keep", |b| {
        b.iter(|| black_box(plan(black_box(&get), &keep, 16).is_ok()))
    });
    group.bench_function("HSET tagged, tags keep", |b| {
        b.iter(|| black_box(plan(black_box(&hset_tagged), &keep, 16).is_ok()))
    });
    group.bench_function("GET one rule, no match", |b| {
        b.iter(|| black_box(plan(black_box(&get), &ruled, 16).is_ok()))
    });
    group.bench_function("GET one rule, match", |b| {
        b.iter(|| black_box(plan(black_box(&lock), &ruled, 16).is_ok()))
    });
    for (label, distribution) in [
        ("elastic", serde_json::json!("elastic")),
        ("redisarray", serde_json::json!("redisarray")),
        (
            "redisarray consistent",
            serde_json::json!({"name": "redisarray", "consistent": true}),
        ),
        ("predis", serde_json::json!("predis")),
        (
            "twemproxy ketama fnv1a_64",
            serde_json::json!({"name": "twemproxy", "hash_tag": "{}"}),
        ),
        (
            "twemproxy modula murmur",
            serde_json::json!({"name": "twemproxy", "distribution": "modula", "hash": "murmur"}),
        ),
    ] {
        let placement = sixteen_masters(distribution).placement;
        group.bench_function(format!("GET {label}"), |b| {
            b.iter(|| black_box(plan(black_box(&get), &placement, 16).is_ok()))
        });
    }
    group.finish();
}

/// A config of 16 masters placed by `distribution`.
fn sixteen_masters(distribution: serde_json::Value) -> ClusterConfig {
    let nodes: serde_json::Map<String, serde_json::Value> = (1..=16)
        .map(|i| {
            (
                format!("node_{i}"),
                serde_json::json!({"host": "10.0.0.1", "port": 6000 + i}),
            )
        })
        .collect();
    ClusterConfig::from_value(&serde_json::json!({"nodes": nodes, "distribution": distribution}))
        .expect("a valid config")
}

criterion_group!(benches, placement, planning);
criterion_main!(benches);
