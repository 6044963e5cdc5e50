//! Predis's client-side sharding (Predis 1.1 `PredisCluster` with its default `HashRing`):
//! the key's part between its first `{` and the first `}` after it when not empty, else the
//! whole key; CRC-32 of that; the node owning the last ring point at or before it (the last
//! point when none is). Each node puts `round(weight / total * nodes * 128)` points on the ring,
//! at CRC-32("host:port:i"); a point computed twice belongs to the node added last.

use super::continuum::Continuum;
use crate::placement::tags::cluster_tag;

/// Points per node at equal weights (Predis `HashRing::DEFAULT_REPLICAS`).
const REPLICAS: f64 = 128.0;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredisRing {
    ring: Continuum,
}

impl PredisRing {
    /// For nodes named as Predis names a connection (`host:port`) with their weights (Predis's
    /// default weight is 100), in the order they were given.
    pub fn new(nodes: &[(String, u32)]) -> PredisRing {
        let total: u64 = nodes.iter().map(|&(_, w)| w as u64).sum();
        let count = nodes.len() as f64;
        let mut points = Vec::new();
        for (index, (name, weight)) in nodes.iter().enumerate() {
            let replicas = php_round(*weight as f64 / total as f64 * count * REPLICAS) as u64;
            for i in 0..replicas {
                points.push((
                    crc32fast::hash(format!("{name}:{i}").as_bytes()),
                    index as u32,
                ));
            }
        }
        PredisRing {
            ring: Continuum::at_or_before(points),
        }
    }

    /// `PredisStrategy::extractKeyTag`: Redis Cluster's tag rule.
    #[inline]
    pub fn route(key: &[u8]) -> &[u8] {
        cluster_tag(key)
    }

    #[inline]
    pub fn index(&self, route: &[u8]) -> usize {
        self.ring.owner(crc32fast::hash(route))
    }
}

/// PHP's `round()`: the value is first rounded to 15 significant digits (PHP's "pre-rounding",
/// so 127.99999999999997 is 128), then half away from zero.
fn php_round(value: f64) -> f64 {
    let pre: f64 = format!("{value:.14e}").parse().unwrap_or(value);
    pre.round()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tags() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"user{42}:name", b"42"),
            (b"{a}{b}", b"a"),
            (b"a{}", b"a{}"),
            (b"a{}b}", b"a{}b}"),
            (b"a{b", b"a{b"),
            (b"a\0{b}", b"b"),
        ];
        for (key, route) in cases {
            assert_eq!(PredisRing::route(key), route, "{key:?}");
        }
    }

    #[test]
    fn php_rounding() {
        assert_eq!(php_round(127.99999999999997), 128.0);
        assert_eq!(php_round(2.5), 3.0);
        assert_eq!(php_round(2.4999999999999996), 3.0, "pre-rounded to 2.5");
        assert_eq!(php_round(85.33333333333333), 85.0);
    }

    #[test]
    fn equal_weights_put_128_points_per_node() {
        let nodes: Vec<(String, u32)> = (0..3).map(|i| (format!("h:{i}"), 100)).collect();
        assert_eq!(PredisRing::new(&nodes).ring.len(), 384);
    }
}
