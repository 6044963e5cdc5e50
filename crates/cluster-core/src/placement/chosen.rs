//! The placement a cluster uses, chosen as a whole from its config: today the tag mode and the
//! routing rules over `crc32 % N`; other placements (issue 16's `distribution`) join it as one
//! more field. Everything that places a key asks this value, so a mode can never apply in one
//! place and not another.

use super::contract::{PlacedKey, TaggedKey, master_index};
use super::rules::RoutingRules;
use super::tags::TagMode;

/// How keys are placed: routing rules first, then the tag mode, then `crc32 % N` of the route.
/// The default (no rules, `tags: "strip"`) is the contract of `tests/vectors/placement.json`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    pub tags: TagMode,
    pub rules: RoutingRules,
}

impl Placement {
    pub fn new(tags: TagMode, rules: RoutingRules) -> Placement {
        Placement { tags, rules }
    }

    /// No rules and the seed's tag stripping: the contract.
    pub fn is_default(&self) -> bool {
        self.tags == TagMode::Strip && self.rules.is_empty()
    }

    /// Whether a name found on a server is one a client with this placement stores as the
    /// key it was given (a routing rule's key, or any key with tags kept), so that placing the
    /// name places the key: the tools ask this of the names they scan.
    pub fn stores_as_written(&self, name: &[u8]) -> bool {
        self.tags == TagMode::Keep || self.rules.first_match(name).is_some()
    }

    /// The bytes that route a key and the name it is stored under. A rule's match is stored
    /// under the full key; the default path is `split_tag` after one length check.
    #[inline]
    pub fn split<'a>(&self, key: &'a [u8]) -> TaggedKey<'a> {
        match self.rules.route(key) {
            Some(route) => TaggedKey { route, stored: key },
            None => self.tags.split(key),
        }
    }

    /// A key placed among `masters` masters.
    #[inline]
    pub fn place<'a>(&self, key: &'a [u8], masters: usize) -> PlacedKey<'a> {
        let TaggedKey { route, stored } = self.split(key);
        PlacedKey {
            shard: master_index(route, masters),
            route,
            stored,
        }
    }

    /// Zero-based index of a key's master among `masters`.
    #[inline]
    pub fn master_index(&self, key: &[u8], masters: usize) -> usize {
        master_index(self.split(key).route, masters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
