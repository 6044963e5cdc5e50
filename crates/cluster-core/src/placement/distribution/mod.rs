//! The distribution: which master a key's route belongs to (the config's `distribution`).
//! `crc32` (`crc32 % N`, the contract) is the default; `elastic` is a slot table for
//! deployments that grow; `redisarray`, `predis` and `twemproxy` reproduce those peers' own
//! placements, tag rule included, so a deployment they wrote is read where its keys are.
//!
//! A `DistributionSpec` is what the config says; `build` makes it a `Distribution` for one
//! list of masters (the config's, or `previous`'s for the online window).

mod continuum;
pub mod elastic;
mod predis;
mod redisarray;
mod twemproxy;
pub mod twemproxy_hash;

pub use elastic::{SLOTS, SlotError, SlotTable, slot_of};
pub use predis::PredisRing;
pub use redisarray::{CONSISTENT_NAME_LIMIT, RedisArray};
pub use twemproxy::{Dispatch, Twemproxy, default_server_name, ketama_name_limit};
pub use twemproxy_hash::KeyHash;

use super::contract::master_index;

/// Predis's weight when a node gives none.
pub const PREDIS_DEFAULT_WEIGHT: u32 = 100;

/// A master as a distribution sees it: the text a peer hashes into its ring (`host:port`
/// unless the config's `ring_name` says otherwise), its weight, and its slots (elastic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingNode {
    pub ring_name: String,
    pub weight: Option<u32>,
    pub slots: Option<Vec<(usize, usize)>>,
}

/// The config's `distribution`, before it is built over a list of masters.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DistributionSpec {
    #[default]
    Crc32,
    Elastic,
    RedisArray {
        consistent: bool,
    },
    Predis,
    Twemproxy {
        dispatch: Dispatch,
        hash: KeyHash,
        tag: Option<[u8; 2]>,
    },
    /// A Redis Cluster (the config's `redis_cluster`): a key's route is its Redis Cluster
    /// hash tag, its unit its slot; which master serves a slot is the servers' live map
    /// (`topology/slot_map.rs`), not part of the placement.
    RedisCluster,
}

impl DistributionSpec {
    /// The config's name of the distribution.
    pub fn name(&self) -> &'static str {
        match self {
            DistributionSpec::Crc32 => "crc32",
            DistributionSpec::Elastic => "elastic",
            DistributionSpec::RedisArray { .. } => "redisarray",
            DistributionSpec::Predis => "predis",
            DistributionSpec::Twemproxy { .. } => "twemproxy",
            DistributionSpec::RedisCluster => "redis_cluster",
        }
    }

    /// Whether the peer has its own tag rule and stores every key under its full name (then
    /// the config's `tags` does not apply).
    pub fn is_compatible(&self) -> bool {
        matches!(
            self,
            DistributionSpec::RedisArray { .. }
                | DistributionSpec::Predis
                | DistributionSpec::Twemproxy { .. }
                | DistributionSpec::RedisCluster
        )
    }

    /// Whether a node's `weight` means something here.
    pub fn takes_weights(&self) -> bool {
        matches!(
            self,
            DistributionSpec::Predis | DistributionSpec::Twemproxy { .. }
        )
    }

    /// The distribution over these masters, in placement order.
    pub fn build(&self, nodes: &[RingNode]) -> Result<Distribution, SlotError> {
        let weighted = |default: u32| -> Vec<(String, u32)> {
            nodes
                .iter()
                .map(|n| (n.ring_name.clone(), n.weight.unwrap_or(default)))
                .collect()
        };
        Ok(match self {
            DistributionSpec::Crc32 => Distribution::Crc32,
            DistributionSpec::Elastic => {
                if nodes.len() > SLOTS {
                    return Err(SlotError::TooManyMasters(nodes.len()));
                }
                if nodes.iter().all(|n| n.slots.is_none()) {
                    Distribution::Elastic(SlotTable::even(nodes.len()))
                } else {
                    let ranges: Vec<Vec<(usize, usize)>> = nodes
                        .iter()
                        .map(|n| n.slots.clone().unwrap_or_default())
                        .collect();
                    Distribution::Elastic(SlotTable::from_ranges(&ranges)?)
                }
            }
            DistributionSpec::RedisArray { consistent } => {
                let hosts: Vec<String> = nodes.iter().map(|n| n.ring_name.clone()).collect();
                Distribution::RedisArray(RedisArray::new(&hosts, *consistent))
            }
            DistributionSpec::Predis => {
                Distribution::Predis(PredisRing::new(&weighted(PREDIS_DEFAULT_WEIGHT)))
            }
            DistributionSpec::Twemproxy {
                dispatch,
                hash,
                tag,
            } => Distribution::Twemproxy(Twemproxy::new(*dispatch, *hash, *tag, &weighted(1))),
            DistributionSpec::RedisCluster => Distribution::RedisCluster,
        })
    }
}

/// A distribution built over one list of masters.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Distribution {
    /// `crc32(route) % N`: the contract.
    #[default]
    Crc32,
    Elastic(SlotTable),
    RedisArray(RedisArray),
    Predis(PredisRing),
    Twemproxy(Twemproxy),
    /// A route's slot (`0..SLOTS`): the unit the executor maps to a master through the
    /// cluster's live slot map.
    RedisCluster,
}

impl Distribution {
    /// The route of a key by the peer's own tag rule, for the compatible placements; `None`
    /// when the config's tag mode decides.
    #[inline]
    pub fn own_route<'a>(&self, key: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            Distribution::Crc32 | Distribution::Elastic(_) => None,
            Distribution::RedisArray(_) => Some(RedisArray::route(key)),
            Distribution::Predis(_) => Some(PredisRing::route(key)),
            Distribution::Twemproxy(pool) => Some(pool.route(key)),
            Distribution::RedisCluster => Some(crate::placement::tags::cluster_tag(key)),
        }
    }

    /// The master (0-based) a route belongs to among `masters` (the count only matters to
    /// `crc32`; the others were built over their masters).
    #[inline]
    pub fn index(&self, route: &[u8], masters: usize) -> usize {
        match self {
            Distribution::Crc32 => master_index(route, masters),
            Distribution::Elastic(table) => table.index(route),
            Distribution::RedisArray(array) => array.index(route),
            Distribution::Predis(ring) => ring.index(route),
            Distribution::Twemproxy(pool) => pool.index(route),
            Distribution::RedisCluster => slot_of(route),
        }
    }

    pub fn is_crc32(&self) -> bool {
        matches!(self, Distribution::Crc32)
    }

    /// The slot table, for the elastic placement.
    pub fn slot_table(&self) -> Option<&SlotTable> {
        match self {
            Distribution::Elastic(table) => Some(table),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<RingNode> {
        (0..n)
            .map(|i| RingNode {
                ring_name: format!("127.0.0.1:{}", 7000 + i),
                weight: None,
                slots: None,
            })
            .collect()
    }

    #[test]
    fn every_spec_builds_and_places_within_its_masters() {
        let specs = [
            DistributionSpec::Crc32,
            DistributionSpec::Elastic,
            DistributionSpec::RedisArray { consistent: false },
            DistributionSpec::RedisArray { consistent: true },
            DistributionSpec::Predis,
            DistributionSpec::Twemproxy {
                dispatch: Dispatch::Ketama,
                hash: KeyHash::Fnv1a64,
                tag: Some(*b"{}"),
            },
            DistributionSpec::Twemproxy {
                dispatch: Dispatch::Modula,
                hash: KeyHash::Murmur,
                tag: None,
            },
        ];
        for spec in specs {
            let distribution = spec.build(&nodes(5)).unwrap();
            let mut seen = [0usize; 5];
            for i in 0..5000 {
                let key = format!("key:{i}");
                let route = distribution
                    .own_route(key.as_bytes())
                    .unwrap_or(key.as_bytes());
                seen[distribution.index(route, 5)] += 1;
            }
            assert!(
                seen.iter().all(|&c| c > 500),
                "{} spreads keys: {seen:?}",
                spec.name()
            );
            assert_eq!(spec.is_compatible(), distribution.own_route(b"x").is_some());
        }
    }

    #[test]
    fn elastic_slots_from_the_nodes() {
        let mut two = nodes(2);
        two[0].slots = Some(vec![(0, 99)]);
        two[1].slots = Some(vec![(100, 16383)]);
        let built = DistributionSpec::Elastic.build(&two).unwrap();
        assert_eq!(built.slot_table().unwrap().counts(), vec![100, 16284]);
        two[1].slots = Some(vec![(101, 16383)]);
        assert_eq!(
            DistributionSpec::Elastic.build(&two),
            Err(SlotError::Unassigned(100))
        );
    }
}
