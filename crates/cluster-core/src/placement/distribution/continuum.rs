//! A hash ring ("continuum"): points on the 32-bit circle, each owned by a node, sorted. The
//! peers differ only in which point a hash lands on: ketama (twemproxy, phpredis RedisArray)
//! takes the first point at or after the hash, Predis the last point at or before it.

/// Sorted points and their owners (parallel vectors: the lookup touches only `values`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Continuum {
    values: Vec<u32>,
    owners: Vec<u32>,
}

impl Continuum {
    /// Points in the order the peer computed them (`(value, owner)`), sorted by value. On
    /// equal values the earlier point comes first (the peers sort with `qsort`, whose order
    /// for equal values is unspecified; two nodes sharing a 32-bit point is a chance of about
    /// 1 in 20,000 for a 3-node ring and moves only the keys hashing to exactly that value).
    pub fn sorted(mut points: Vec<(u32, u32)>) -> Continuum {
        points.sort_by_key(|&(value, _)| value);
        Continuum {
            values: points.iter().map(|&(v, _)| v).collect(),
            owners: points.iter().map(|&(_, o)| o).collect(),
        }
    }

    /// Points where a value computed twice keeps only its last owner (Predis stores its ring
    /// in a PHP array keyed by the point: a later node overwrites an earlier one).
    pub fn last_owner_wins(points: Vec<(u32, u32)>) -> Continuum {
        let mut by_value = std::collections::BTreeMap::new();
        for (value, owner) in points {
            by_value.insert(value, owner);
        }
        Continuum {
            values: by_value.keys().copied().collect(),
            owners: by_value.values().copied().collect(),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The owner of the first point at or after `hash`, wrapping to the first point (ketama).
    #[inline]
    pub fn at_or_after(&self, hash: u32) -> usize {
        let at = self.values.partition_point(|&v| v < hash);
        let at = if at == self.values.len() { 0 } else { at };
        self.owners[at] as usize
    }

    /// The owner of the last point at or before `hash`, wrapping to the last point (Predis).
    #[inline]
    pub fn at_or_before(&self, hash: u32) -> usize {
        let after = self.values.partition_point(|&v| v <= hash);
        let at = if after == 0 {
            self.values.len() - 1
        } else {
            after - 1
        };
        self.owners[at] as usize
    }
}

/// The four little-endian 32-bit words of an MD5 digest (ketama's four points per hash).
pub fn md5_words(text: &[u8]) -> [u32; 4] {
    use md5::{Digest, Md5};
    let digest = Md5::digest(text);
    std::array::from_fn(|k| {
        u32::from_le_bytes([
            digest[4 * k],
            digest[4 * k + 1],
            digest[4 * k + 2],
            digest[4 * k + 3],
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_wrap_around_the_circle() {
        let ring = Continuum::sorted(vec![(300, 2), (100, 0), (200, 1)]);
        assert_eq!(
            [0, 100, 101, 200, 250, 300, 301].map(|h| ring.at_or_after(h)),
            [0, 0, 1, 1, 2, 2, 0]
        );
        assert_eq!(
            [0, 99, 100, 199, 200, 300, u32::MAX].map(|h| ring.at_or_before(h)),
            [2, 2, 0, 0, 1, 2, 2]
        );
    }

    #[test]
    fn a_later_owner_overwrites_an_equal_point() {
        let ring = Continuum::last_owner_wins(vec![(5, 0), (9, 0), (5, 1)]);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.at_or_before(5), 1);
        assert_eq!(ring.at_or_before(9), 0);
    }

    #[test]
    fn md5_words_are_little_endian() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(
            md5_words(b""),
            [0xd98c1dd4, 0x04b2008f, 0x980980e9, 0x7e42f8ec]
        );
    }
}
