//! The tag modes: what a hash tag does to a key. `Strip` is the seed's rule and the contract
//! (`split_tag`); `Keep` is Redis Cluster's, for keys written by libraries made for it.

use super::contract::{TaggedKey, split_tag};

/// What a hash tag does to a key (the config's `tags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TagMode {
    /// `"strip"`, the default and the contract: `real{tag}` (the tag at the end, opening at
    /// the last `{`) is routed by `tag` and stored as `real`. `LIMITS:{a}` and `LIMITS:{b}`
    /// are both stored as `LIMITS:`, on their tags' nodes: on one node they are one key.
    #[default]
    Strip,
    /// `"keep"`: routed by Redis Cluster's hash tag (see `cluster_tag`), stored under the
    /// full name, as Redis Cluster, RedisArray, Predis and twemproxy do.
    Keep,
}

impl TagMode {
    /// The config's spelling of the mode.
    pub fn name(self) -> &'static str {
        match self {
            TagMode::Strip => "strip",
            TagMode::Keep => "keep",
        }
    }

    /// The mode the config's text names, if any.
    pub fn from_name(name: &str) -> Option<TagMode> {
        match name {
            "strip" => Some(TagMode::Strip),
            "keep" => Some(TagMode::Keep),
            _ => None,
        }
    }

    /// How this mode routes and stores a key.
    #[inline]
    pub fn split(self, key: &[u8]) -> TaggedKey<'_> {
        match self {
            TagMode::Strip => split_tag(key),
            TagMode::Keep => TaggedKey {
                route: cluster_tag(key),
                stored: key,
            },
        }
    }
}

/// Redis Cluster's hash-tag rule (its `keyHashSlot`): the bytes between the first `{` and the
/// first `}` after it, when there is at least one byte between them; otherwise the whole key.
/// The tag may sit anywhere (`{user1}:followers`, `LIMITS:{LIMITER/user1/5/1/minute}`), which is
/// what libraries written for Redis Cluster rely on. Predis's `extractKeyTag` is the same rule.
#[inline]
pub fn cluster_tag(key: &[u8]) -> &[u8] {
    tag_between(key, b'{', b'}')
}

/// The bytes between the first `open` and the first `close` after it, when there is at least
/// one byte between them; otherwise the whole key. Redis Cluster's rule with `{` and `}`, and
/// twemproxy's `hash_tag` with its two characters.
#[inline]
pub fn tag_between(key: &[u8], open: u8, close: u8) -> &[u8] {
    let Some(start) = memchr::memchr(open, key) else {
        return key;
    };
    let after = &key[start + 1..];
    match memchr::memchr(close, after) {
        Some(end) if end > 0 => &after[..end],
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_cluster_tag_rule_edges() {
        let cases: [(&[u8], &[u8]); 11] = [
            (
                b"LIMITS:{LIMITER/user1/5/1/minute}",
                b"LIMITER/user1/5/1/minute",
            ),
            (b"{user1}:followers", b"user1"),
            (b"a{b}c", b"b"),
            (b"a{b}{c}", b"b"),
            (b"a{}", b"a{}"),
            (b"a{}{b}", b"a{}{b}"),
            (b"{{b}}", b"{b"),
            (b"a{b", b"a{b"),
            (b"}{", b"}{"),
            (b"plain", b"plain"),
            (b"", b""),
        ];
        for (key, route) in cases {
            assert_eq!(
                cluster_tag(key),
                route,
                "{:?}",
                String::from_utf8_lossy(key)
            );
            let kept = TagMode::Keep.split(key);
            assert_eq!((kept.route, kept.stored), (route, key));
        }
    }

    #[test]
    fn names_round_trip() {
        for mode in [TagMode::Strip, TagMode::Keep] {
            assert_eq!(TagMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(TagMode::from_name("Keep"), None);
    }
}
