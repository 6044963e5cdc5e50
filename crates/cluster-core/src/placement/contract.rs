//! The default placement, the contract: `crc32 % N` of the route, the seed's tag rule (strip
//! the tag, store the rest). Changing anything here moves users' data; the golden vectors in
//! `tests/vectors/placement.json` hold every implementation (Rust, Python, PHP) to it.

/// A key split by the hash-tag rule: `route` picks the node, `stored` is what Redis sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaggedKey<'a> {
    pub route: &'a [u8],
    pub stored: &'a [u8],
}

impl TaggedKey<'_> {
    /// Was the key of the form `real{tag}`?
    pub fn is_tagged(&self) -> bool {
        // Verbatim keys route and store the same slice; tagged ones never do.
        !std::ptr::eq(self.route, self.stored)
    }
}

/// The hash-tag rule: a key that ends with `}`, whose tag opens at the last `{`, with a
/// non-empty part before that `{` and a non-empty tag, is routed by the tag and stored as the
/// part before the `{` (`bar{foo}` → route `foo`, store `bar`). Any other key is verbatim.
pub fn split_tag(key: &[u8]) -> TaggedKey<'_> {
    let verbatim = TaggedKey {
        route: key,
        stored: key,
    };
    let Some((&b'}', body)) = key.split_last() else {
        return verbatim;
    };
    let Some(open) = body.iter().rposition(|&b| b == b'{') else {
        return verbatim;
    };
    let (stored, tag) = (&body[..open], &body[open + 1..]);
    if stored.is_empty() || tag.is_empty() {
        return verbatim;
    }
    TaggedKey { route: tag, stored }
}

/// IEEE CRC-32 of the routing bytes (Python's `binascii.crc32(b) & 0xffffffff`, PHP's
/// `crc32()` on 64-bit).
pub fn crc32(route: &[u8]) -> u32 {
    crc32fast::hash(route)
}

/// Zero-based index of the master a routing key belongs to among `masters` masters
/// (`node_{index + 1}`). `masters` must be at least 1.
pub fn master_index(route: &[u8], masters: usize) -> usize {
    debug_assert!(masters > 0, "a cluster has at least one master");
    (crc32(route) as u64 % masters as u64) as usize
}

/// Zero-based master index of a key as a command would carry it, tags honoured.
pub fn master_index_for_key(key: &[u8], masters: usize) -> usize {
    master_index(split_tag(key).route, masters)
}

/// A key as a command carries it, placed: its master among `masters`, the bytes that route it
/// and the name Redis stores it under (tags honoured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacedKey<'a> {
    pub shard: usize,
    /// The key as the command carries it (what another placement, `previous`'s, places).
    pub key: &'a [u8],
    pub route: &'a [u8],
    pub stored: &'a [u8],
}

impl<'a> PlacedKey<'a> {
    pub fn new(key: &'a [u8], masters: usize) -> PlacedKey<'a> {
        let TaggedKey { route, stored } = split_tag(key);
        PlacedKey {
            shard: master_index(route, masters),
            key,
            route,
            stored,
        }
    }
}

/// The name of the master at a zero-based index: `node_1`, `node_2`, ...
pub fn node_name(index: usize) -> String {
    format!("node_{}", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_examples() {
        assert_eq!(node_name(master_index_for_key(b"foo", 2)), "node_2");
        assert_eq!(node_name(master_index_for_key(b"bar", 2)), "node_1");
        assert_eq!(master_index_for_key(b"bar{foo}", 2), 1);
    }

    #[test]
    fn tag_rule_edges() {
        let cases: [(&[u8], &[u8], &[u8]); 9] = [
            (b"a{b}", b"b", b"a"),
            (b"{b}", b"{b}", b"{b}"),
            (b"a{}", b"a{}", b"a{}"),
            (b"a{b}c", b"a{b}c", b"a{b}c"),
            (b"a{b}{c}", b"c", b"a{b}"),
            (b"a{{b}}", b"b}", b"a{"),
            (b"}", b"}", b"}"),
            (b"{", b"{", b"{"),
            (b"", b"", b""),
        ];
        for (key, route, stored) in cases {
            let tagged = split_tag(key);
            assert_eq!((tagged.route, tagged.stored), (route, stored), "{key:?}");
            assert_eq!(tagged.is_tagged(), route != key, "{key:?}");
        }
    }
}
