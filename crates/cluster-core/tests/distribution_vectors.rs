//! The compatible distributions against the peers themselves: for every case of
//! `tests/vectors/distributions.json` (recorded by running phpredis's RedisArray, Predis and
//! twemproxy against real servers), the engine places every key on the node the peer did, by
//! configuration alone, and stores it under its full name, as the peer does.

mod support;

use cluster_core::{Cluster, ClusterConfig};
use support::vectors;

#[test]
fn every_key_lands_where_the_peer_put_it() {
    let recorded = vectors::load_distributions();
    assert!(
        recorded.keys.len() >= 10_000,
        "{} keys",
        recorded.keys.len()
    );
    for kind in ["ascii", "utf8", "binary", "integer", "tag"] {
        assert!(recorded.kinds.iter().any(|k| k == kind), "no {kind} keys");
    }
    let peers: std::collections::BTreeSet<&str> =
        recorded.cases.iter().map(|c| c.peer.as_str()).collect();
    assert_eq!(
        peers.into_iter().collect::<Vec<_>>(),
        ["predis", "redisarray", "twemproxy"]
    );
    let mut failures = Vec::new();
    for case in &recorded.cases {
        let config = ClusterConfig::from_value(&case.config)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let masters = config.masters.len();
        let placement = &config.placement;
        let wrong: Vec<usize> = recorded
            .keys
            .iter()
            .zip(&case.nodes)
            .enumerate()
            .filter(|(_, (key, node))| placement.master_index(key, masters) + 1 != **node)
            .map(|(at, _)| at)
            .collect();
        for at in &wrong {
            let key = &recorded.keys[*at];
            assert_eq!(placement.split(key).stored, key.as_slice(), "full names");
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {} of {} keys elsewhere, e.g. {:?} on node_{} (peer: node_{})",
                case.name,
                wrong.len(),
                recorded.keys.len(),
                String::from_utf8_lossy(&recorded.keys[wrong[0]]),
                placement.master_index(&recorded.keys[wrong[0]], masters) + 1,
                case.nodes[wrong[0]]
            ));
        }
        // The whole engine (what getnodefor and `rediscluster nodefor` answer) agrees.
        let cluster = Cluster::new(config.clone()).unwrap();
        if let Some((key, node)) = recorded
            .keys
            .iter()
            .zip(&case.nodes)
            .step_by(97)
            .find(|(key, node)| cluster.node_for(key) != format!("node_{node}"))
        {
            failures.push(format!(
                "{}: the cluster puts {:?} on {} (peer: node_{node})",
                case.name,
                String::from_utf8_lossy(key),
                cluster.node_for(key)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
