//! The cost of planning a GET under each distribution, as the least time of 40 interleaved
//! rounds (16 masters, 1024 keys of 21 bytes, 50 passes a round). On a shared 2-core box the
//! minimum of interleaved rounds is steadier than a mean, and the modes are measured side by
//! side in one process; `benches/placement.rs` (criterion, `plan/GET *`) measures the same.
//!
//! `cargo run --release -p cluster-core --example plan_cost`

use std::hint::black_box;
use std::time::Instant;

use cluster_core::ClusterConfig;
use cluster_core::router::plan;

const ROUNDS: usize = 40;
const PASSES: usize = 50;

fn sixteen_masters(distribution: Option<serde_json::Value>) -> ClusterConfig {
    let nodes: serde_json::Map<String, serde_json::Value> = (1..=16)
        .map(|i| {
            (
                format!("node_{i}"),
                serde_json::json!({"host": "10.0.0.1", "port": 6000 + i}),
            )
        })
        .collect();
    let mut config = serde_json::json!({ "nodes": nodes });
    if let Some(distribution) = distribution {
        config["distribution"] = distribution;
    }
    ClusterConfig::from_value(&config).expect("a valid config")
}

fn main() {
    let modes: Vec<(&str, ClusterConfig)> = [
        ("crc32 (default)", None),
        ("elastic", Some(serde_json::json!("elastic"))),
        ("redisarray", Some(serde_json::json!("redisarray"))),
        (
            "redisarray consistent",
            Some(serde_json::json!({"name": "redisarray", "consistent": true})),
        ),
        ("predis", Some(serde_json::json!("predis"))),
        (
            "twemproxy ketama fnv1a_64",
            Some(serde_json::json!({"name": "twemproxy", "hash_tag": "{}"})),
        ),
        (
            "twemproxy modula murmur",
            Some(serde_json::json!({"name": "twemproxy", "distribution": "modula", "hash": "murmur"})),
        ),
    ]
    .into_iter()
    .map(|(label, distribution)| (label, sixteen_masters(distribution)))
    .collect();
    let keys: Vec<Vec<u8>> = (0..1024)
        .map(|i| format!("user:{i:08}:profile").into_bytes())
        .collect();
    let mut best = vec![f64::MAX; modes.len()];
    for _ in 0..ROUNDS {
        for ((_, config), best) in modes.iter().zip(&mut best) {
            let started = Instant::now();
            for _ in 0..PASSES {
                for key in &keys {
                    let args: [&[u8]; 2] = [b"GET", key];
                    black_box(plan(black_box(&args), &config.placement, 16).is_ok());
                }
            }
            let ns = started.elapsed().as_nanos() as f64 / (PASSES * keys.len()) as f64;
            *best = best.min(ns);
        }
    }
    let default = best[0];
    for ((label, _), ns) in modes.iter().zip(&best) {
        println!(
            "{label:28} {ns:6.1} ns  {:+5.1} %",
            (ns / default - 1.0) * 100.0
        );
    }
}
