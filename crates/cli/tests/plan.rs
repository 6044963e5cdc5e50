//! What a placement change moves, measured on 1,000,000 random keys (no servers): growing an
//! `elastic` deployment from 8 to 9 masters with `rediscluster grow` moves the new master's
//! share (1/9) and leaves the masters within 5 % of each other; `crc32 % N` moves about 89 %.

use cluster_core::ClusterConfig;
use rediscluster_tools::grow::grow;
use rediscluster_tools::plan::plan_random;

fn masters(n: u16, distribution: &str) -> serde_json::Value {
    let nodes: serde_json::Map<String, serde_json::Value> = (1..=n)
        .map(|i| {
            (
                format!("node_{i}"),
                serde_json::json!({"host": "10.0.0.1", "port": 6000 + i}),
            )
        })
        .collect();
    serde_json::json!({"nodes": nodes, "distribution": distribution})
}

#[test]
fn growing_eight_elastic_masters_to_nine_moves_one_ninth() {
    let eight = masters(8, "elastic");
    let nine = grow(&eight, &["10.0.0.1:6009".to_owned()]).unwrap();
    let (from, to) = (
        ClusterConfig::from_value(&eight).unwrap(),
        ClusterConfig::from_value(&nine).unwrap(),
    );
    let plan = plan_random(&from, &to, 1_000_000, 7).unwrap();
    assert_eq!(plan.keys, 1_000_000);
    assert!(
        plan.fraction_moving <= 1.0 / 9.0 + 0.01,
        "moved {:.4}",
        plan.fraction_moving
    );
    assert!(plan.fraction_moving >= 1.0 / 9.0 - 0.01);
    assert!(
        plan.fullest_over_emptiest <= 1.05,
        "fullest / emptiest {:.4}",
        plan.fullest_over_emptiest
    );
    // Only the new master gains.
    let gaining: Vec<&str> = plan
        .nodes
        .iter()
        .filter(|n| n.gain > 0)
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(gaining, ["node_9"]);

    let crc_eight = ClusterConfig::from_value(&masters(8, "crc32")).unwrap();
    let crc_nine = ClusterConfig::from_value(&masters(9, "crc32")).unwrap();
    let modulo = plan_random(&crc_eight, &crc_nine, 1_000_000, 7).unwrap();
    assert!(
        (0.87..0.91).contains(&modulo.fraction_moving),
        "crc32 % N moves about 8/9: {:.4}",
        modulo.fraction_moving
    );
}

#[test]
fn grow_refuses_what_it_cannot_grow() {
    let refused = |config: serde_json::Value, add: &[&str]| {
        let add: Vec<String> = add.iter().map(|a| a.to_string()).collect();
        grow(&config, &add).unwrap_err().to_string()
    };
    assert!(refused(masters(2, "crc32"), &["h:1"]).contains("'elastic'"));
    assert!(refused(masters(2, "elastic"), &["nohost"]).contains("host:port"));
    assert!(refused(masters(2, "elastic"), &["10.0.0.1:6001"]).contains("same address"));
    assert!(refused(masters(2, "elastic"), &[]).contains("--add"));
    let mut moving = masters(2, "elastic");
    moving["previous"] = masters(1, "elastic");
    assert!(refused(moving, &["10.0.0.1:6100"]).contains("previous"));
}
