//! A hash ring ("continuum"): points on the 32-bit circle, each owned by a node, sorted. The
//! peers differ in which point a hash lands on: ketama (twemproxy, phpredis RedisArray) takes
//! the first point at or after the hash, Predis the last point at or before it.

/// Which point a hash lands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    /// The first point at or after the hash, wrapping to the first point (ketama).
    AtOrAfter,
    /// The last point at or before the hash, wrapping to the last point (Predis).
    AtOrBefore,
}

/// No single owner for every hash of a range (`Continuum::direct`).
const MIXED: u32 = u32::MAX;

/// Sorted points and their owners (parallel vectors: a lookup touches only `values`), with an
/// index of the circle cut into about as many ranges as there are points: where each range's
/// points start, and, for a range without points (every hash in it lands on the same point),
/// that point's owner. A lookup reads one entry, and searches the few points of its range only
/// when the range has any: a GET planned over a ring costs about what it costs over `crc32 % N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Continuum {
    values: Vec<u32>,
    owners: Vec<u32>,
    lookup: Lookup,
    /// `starts[r]`: the first point whose value's top bits are `r` or more (`2^bits + 1`
    /// entries, the last one the number of points).
    starts: Vec<u32>,
    /// `direct[r]`: the owner of every hash of range `r`, or `MIXED`.
    direct: Vec<u32>,
    /// `32 - bits`: a hash's range is `hash >> shift`.
    shift: u32,
}

impl Continuum {
    /// A ketama ring: points in the order the peer computed them (`(value, owner)`), sorted by
    /// value; a hash lands on the first point at or after it. On equal values the earlier
    /// point comes first (the peers sort with `qsort`, whose order for equal values is
    /// unspecified; two nodes sharing a 32-bit point is a chance of about 1 in 20,000 for a
    /// 3-node ring and moves only the keys hashing to exactly that value).
    pub fn at_or_after(mut points: Vec<(u32, u32)>) -> Continuum {
        points.sort_by_key(|&(value, _)| value);
        Continuum::indexed(
            points.iter().map(|&(v, _)| v).collect(),
            points.iter().map(|&(_, o)| o).collect(),
            Lookup::AtOrAfter,
        )
    }

    /// A Predis ring: a hash lands on the last point at or before it; a value computed twice
    /// keeps only its last owner (Predis keeps its ring in a PHP array keyed by the point: a
    /// later node overwrites an earlier one).
    pub fn at_or_before(points: Vec<(u32, u32)>) -> Continuum {
        let mut by_value = std::collections::BTreeMap::new();
        for (value, owner) in points {
            by_value.insert(value, owner);
        }
        Continuum::indexed(
            by_value.keys().copied().collect(),
            by_value.values().copied().collect(),
            Lookup::AtOrBefore,
        )
    }

    fn indexed(values: Vec<u32>, owners: Vec<u32>, lookup: Lookup) -> Continuum {
        assert!(!values.is_empty(), "a ring has points");
        let bits = values
            .len()
            .next_power_of_two()
            .trailing_zeros()
            .clamp(4, 16);
        let shift = 32 - bits;
        let starts: Vec<u32> = (0..=(1u64 << bits))
            .map(|range| values.partition_point(|&v| (v as u64) < range << shift) as u32)
            .collect();
        let mut ring = Continuum {
            values,
            owners,
            lookup,
            starts,
            direct: Vec::new(),
            shift,
        };
        ring.direct = (0..1usize << bits)
            .map(|range| {
                let (from, to) = (ring.starts[range], ring.starts[range + 1]);
                // Without points of its own, every hash of the range lands on one point.
                if from == to {
                    ring.search(((range as u64) << shift) as u32) as u32
                } else {
                    MIXED
                }
            })
            .collect();
        ring
    }

    /// The owner (0-based node) of the point `hash` lands on.
    #[inline]
    pub fn owner(&self, hash: u32) -> usize {
        let range = (hash >> self.shift) as usize;
        match self.direct[range] {
            MIXED => self.search(hash),
            owner => owner as usize,
        }
    }

    /// The owner by a search of `hash`'s range (every point before the range is below `hash`,
    /// every point after it above).
    #[inline]
    fn search(&self, hash: u32) -> usize {
        let range = (hash >> self.shift) as usize;
        let (from, to) = (self.starts[range] as usize, self.starts[range + 1] as usize);
        let points = &self.values[from..to];
        let at = match self.lookup {
            Lookup::AtOrAfter => {
                let at = from + points.partition_point(|&v| v < hash);
                if at == self.values.len() { 0 } else { at }
            }
            Lookup::AtOrBefore => {
                let after = from + points.partition_point(|&v| v <= hash);
                if after == 0 {
                    self.values.len() - 1
                } else {
                    after - 1
                }
            }
        };
        self.owners[at] as usize
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
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
        let points = vec![(300, 2), (100, 0), (200, 1)];
        let after = Continuum::at_or_after(points.clone());
        assert_eq!(
            [0, 100, 101, 200, 250, 300, 301].map(|h| after.owner(h)),
            [0, 0, 1, 1, 2, 2, 0]
        );
        let before = Continuum::at_or_before(points);
        assert_eq!(
            [0, 99, 100, 199, 200, 300, u32::MAX].map(|h| before.owner(h)),
            [2, 2, 0, 0, 1, 2, 2]
        );
    }

    #[test]
    fn the_range_index_answers_as_a_search_of_the_whole_ring() {
        let mut state = 12345u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for size in [1, 3, 100, 2560, 70_000] {
            let points: Vec<(u32, u32)> = (0..size).map(|i| (next(), i % 7)).collect();
            let after = Continuum::at_or_after(points.clone());
            let before = Continuum::at_or_before(points.clone());
            let mut sorted = points;
            sorted.sort_by_key(|&(v, _)| v);
            let values: Vec<u32> = sorted.iter().map(|&(v, _)| v).collect();
            let mut probes: Vec<u32> = (0..2000).map(|_| next()).collect();
            probes.extend([0, u32::MAX, values[0], values[values.len() - 1]]);
            // Every range's first hash too: where the direct answers were computed.
            probes.extend((0..1u64 << 16).map(|range| (range << 16) as u32));
            for hash in probes {
                let next = values.partition_point(|&v| v < hash) % values.len();
                assert_eq!(after.owner(hash), sorted[next].1 as usize, "{hash}");
                // Equal values: the last one added wins (stable sort keeps their order).
                let last = values.partition_point(|&v| v <= hash);
                let last = if last == 0 {
                    values.len() - 1
                } else {
                    last - 1
                };
                assert_eq!(before.owner(hash), sorted[last].1 as usize, "{hash}");
            }
        }
    }

    #[test]
    fn a_later_owner_overwrites_an_equal_point() {
        let ring = Continuum::at_or_before(vec![(5, 0), (9, 0), (5, 1)]);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.owner(5), 1);
        assert_eq!(ring.owner(9), 0);
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
