//! The placement a cluster uses, chosen as a whole from its config: the routing rules, then
//! the tag mode (or a compatible distribution's own tag rule), then the distribution (the
//! config's `distribution`, `crc32 % N` by default). Everything that places a key asks this
//! value, so a mode can never apply in one place and not another.

use std::sync::Arc;

use super::contract::{PlacedKey, TaggedKey, master_index};
use super::distribution::{Distribution, DistributionSpec};
use super::rules::RoutingRules;
use super::tags::TagMode;

/// How keys are placed: routing rules first, then the tag mode (a compatible distribution's
/// own tag rule instead, storing the full name), then the distribution of the route. The
/// default (no rules, `tags: "strip"`, `crc32`) is the contract of
/// `tests/vectors/placement.json`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    pub tags: TagMode,
    pub rules: RoutingRules,
    /// What the config says (built again over `previous`'s masters for the online window).
    pub spec: DistributionSpec,
    /// The spec built over this placement's masters (shared: slot tables and rings are
    /// built once).
    pub distribution: Arc<Distribution>,
}

impl Placement {
    pub fn new(tags: TagMode, rules: RoutingRules) -> Placement {
        Placement {
            tags,
            rules,
            ..Placement::default()
        }
    }

    /// The same tag mode and rules over another distribution.
    pub fn with_distribution(&self, spec: DistributionSpec, built: Distribution) -> Placement {
        Placement {
            tags: self.tags,
            rules: self.rules.clone(),
            spec,
            distribution: Arc::new(built),
        }
    }

    /// A short text that differs whenever two placements place or name keys differently: the
    /// distribution (a checksum of its table or ring, and its options), the tag mode and the
    /// rules. The tools put it in a job's name, so a resume file is never used for a job that
    /// would place keys otherwise.
    pub fn fingerprint(&self) -> String {
        let built = crc32fast::hash(format!("{:?}", self.distribution).as_bytes());
        let rules: Vec<&str> = self.rules.sources().collect();
        format!(
            "{} {built:08x} tags {} rules {rules:?}",
            self.spec.name(),
            self.tags.name()
        )
    }

    /// No rules, the seed's tag stripping, `crc32 % N`: the contract.
    pub fn is_default(&self) -> bool {
        self.tags == TagMode::Strip && self.rules.is_empty() && self.distribution.is_crc32()
    }

    /// Whether every key is stored under its full name (tags kept, or a compatible
    /// distribution): then a name found on a server places exactly as the key it is.
    pub fn keeps_names(&self) -> bool {
        self.tags == TagMode::Keep || self.spec.is_compatible()
    }

    /// Whether `self` and `other` store every key under the same name (the same rules, and
    /// both keep full names or both strip tags): keys can move between them without being
    /// renamed (a reshard, the online window).
    pub fn names_like(&self, other: &Placement) -> bool {
        self.rules == other.rules && self.keeps_names() == other.keeps_names()
    }

    /// How this placement names keys, for the errors that refuse a change of names.
    pub fn naming(&self) -> String {
        let how = if self.keeps_names() {
            format!("'{}' stores bar{{foo}} as bar{{foo}}", self.spec.name())
        } else {
            format!(
                "'{}' with tags 'strip' stores bar{{foo}} as bar",
                self.spec.name()
            )
        };
        match self.rules.is_empty() {
            true => how,
            false => format!(
                "{how}, routing rules {:?}",
                self.rules.sources().collect::<Vec<_>>()
            ),
        }
    }

    /// Whether a name found on a server is one a client with this placement stores as the
    /// key it was given (a routing rule's key, or any key when names are kept), so that
    /// placing the name places the key: the tools ask this of the names they scan.
    pub fn stores_as_written(&self, name: &[u8]) -> bool {
        self.keeps_names() || self.rules.first_match(name).is_some()
    }

    /// The bytes that route a key and the name it is stored under. A rule's match and a
    /// compatible distribution's key are stored under the full key; the default path is
    /// `split_tag` after one length check and one match.
    #[inline]
    pub fn split<'a>(&self, key: &'a [u8]) -> TaggedKey<'a> {
        if let Some(route) = self.rules.route(key) {
            return TaggedKey { route, stored: key };
        }
        // `spec` sits in this value: the default path never follows the pointer to the
        // built distribution.
        if self.spec.is_compatible() {
            let route = self.distribution.own_route(key).unwrap_or(key);
            return TaggedKey { route, stored: key };
        }
        self.tags.split(key)
    }

    /// How errors name a unit keys are placed in: `node_k` (a master), or on a Redis Cluster
    /// `slot N`.
    pub fn unit_name(&self, unit: usize) -> String {
        match self.spec {
            DistributionSpec::RedisCluster => format!("slot {unit}"),
            _ => super::contract::node_name(unit),
        }
    }

    /// Whether keys are placed by a Redis Cluster's slots (the config's `redis_cluster`).
    pub fn is_redis_cluster(&self) -> bool {
        self.spec == DistributionSpec::RedisCluster
    }

    /// A hash tag (with its braces) that puts a name in `unit` on a Redis Cluster, where two
    /// keys of one command must share a slot; `None` elsewhere (a name sent to a master as is
    /// needs none).
    pub fn tag_for_unit(&self, unit: usize) -> Option<String> {
        match self.spec {
            DistributionSpec::RedisCluster => Some(format!(
                "{{{}}}",
                super::distribution::elastic::tag_for_slot(unit)
            )),
            _ => None,
        }
    }

    /// The master (0-based) of a route among `masters`.
    #[inline]
    pub fn route_index(&self, route: &[u8], masters: usize) -> usize {
        match self.spec {
            DistributionSpec::Crc32 => master_index(route, masters),
            _ => self.distribution.index(route, masters),
        }
    }

    /// A key placed among `masters` masters.
    #[inline]
    pub fn place<'a>(&self, key: &'a [u8], masters: usize) -> PlacedKey<'a> {
        let TaggedKey { route, stored } = self.split(key);
        PlacedKey {
            shard: self.route_index(route, masters),
            key,
            route,
            stored,
        }
    }

    /// Zero-based index of a key's master among `masters`.
    #[inline]
    pub fn master_index(&self, key: &[u8], masters: usize) -> usize {
        self.route_index(self.split(key).route, masters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::distribution::RingNode;
    use crate::placement::{master_index_for_key, split_tag};

    #[test]
    fn the_default_is_the_contract() {
        let placement = Placement::default();
        assert!(placement.is_default());
        for key in [&b"bar{foo}"[..], b"LIMITS:{a}", b"{b}", b"plain", b""] {
            assert_eq!(placement.split(key), split_tag(key));
            assert_eq!(placement.master_index(key, 7), master_index_for_key(key, 7));
        }
    }

    #[test]
    fn rules_before_tags_and_never_renaming() {
        let rules = RoutingRules::new(&[r"^lock(?:-signal)?:(.+)$"]).unwrap();
        for tags in [TagMode::Strip, TagMode::Keep] {
            let placement = Placement::new(tags, rules.clone());
            let lock = placement.place(b"lock:a{t}", 5);
            assert_eq!((lock.route, lock.stored), (&b"a{t}"[..], &b"lock:a{t}"[..]));
            assert_eq!(lock.shard, placement.place(b"lock-signal:a{t}", 5).shard);
        }
        let keep = Placement::new(TagMode::Keep, rules);
        let other = keep.place(b"LIMITS:{a}", 5);
        assert_eq!((other.route, other.stored), (&b"a"[..], &b"LIMITS:{a}"[..]));
    }

    #[test]
    fn a_compatible_distribution_keeps_names_and_its_own_tags() {
        let nodes: Vec<RingNode> = (0..3)
            .map(|i| RingNode {
                ring_name: format!("h:{i}"),
                weight: None,
                slots: None,
            })
            .collect();
        let spec = DistributionSpec::RedisArray { consistent: false };
        let placement =
            Placement::default().with_distribution(spec.clone(), spec.build(&nodes).unwrap());
        assert!(!placement.is_default() && placement.keeps_names());
        let key = placement.place(b"a{}", 3);
        assert_eq!((key.route, key.stored), (&b""[..], &b"a{}"[..]));
    }
}
