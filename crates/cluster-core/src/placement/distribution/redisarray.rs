//! phpredis RedisArray's placement (phpredis 5.3): the key's part between its first `{` and
//! the first `}` after it (possibly empty), else the whole key; CRC-32 of that, then either a
//! position scaled onto the host list (the default) or, with `consistent => true`, a ketama
//! ring of 160 points per host built from MD5("host-j"). The host text is the one the array
//! was given (`"10.0.0.1:6379"`).

use super::continuum::{Continuum, md5_words};

/// Hashes per host on the consistent ring (4 points each).
const HASHES_PER_HOST: u32 = 40;

/// The longest host text phpredis hashes correctly on its consistent ring: it writes
/// `host-j` into 64 bytes (`HOST_NAME_MAX`, its NUL included) but hashes the untruncated
/// length, reading past what it wrote for a longer text (`j` < 40: two digits).
pub const CONSISTENT_NAME_LIMIT: usize = 63 - 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisArray {
    hosts: usize,
    ring: Option<Continuum>,
}

impl RedisArray {
    /// For these host texts, in the array's order; `consistent` builds the ring.
    pub fn new(hosts: &[String], consistent: bool) -> RedisArray {
        let ring = consistent.then(|| {
            let mut points = Vec::with_capacity(hosts.len() * 160);
            for (index, host) in hosts.iter().enumerate() {
                for j in 0..HASHES_PER_HOST {
                    for word in md5_words(format!("{host}-{j}").as_bytes()) {
                        points.push((word, index as u32));
                    }
                }
            }
            Continuum::at_or_after(points)
        });
        RedisArray {
            hosts: hosts.len(),
            ring,
        }
    }

    pub fn is_consistent(&self) -> bool {
        self.ring.is_some()
    }

    /// RedisArray's key extraction. It searches with C's `strchr`, so it never looks past a
    /// NUL byte for the braces.
    #[inline]
    pub fn route(key: &[u8]) -> &[u8] {
        let Some(open) = memchr::memchr2(b'{', 0, key).filter(|&at| key[at] == b'{') else {
            return key;
        };
        let rest = &key[open + 1..];
        match memchr::memchr2(b'}', 0, rest) {
            Some(close) if rest[close] == b'}' => &rest[..close],
            _ => key,
        }
    }

    #[inline]
    pub fn index(&self, route: &[u8]) -> usize {
        let crc = crc32fast::hash(route);
        match &self.ring {
            // phpredis compares its CRC register before the final inversion.
            Some(ring) => ring.owner(!crc),
            None => {
                let position = (crc as u64 * self.hosts as u64 / 0xffff_ffff) as usize;
                // A CRC of exactly 0xffffffff would index one past the last host in phpredis
                // (reading out of bounds); the last host is the only place it can mean.
                position.min(self.hosts - 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_extraction() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"user{42}:name", b"42"),
            (b"{a}{b}", b"a"),
            (b"a{}", b""),
            (b"a{b", b"a{b"),
            (b"}{x}", b"x"),
            (b"plain", b"plain"),
            (b"a\0{b}", b"a\0{b}"),
            (b"{b\0}", b"{b\0}"),
        ];
        for (key, route) in cases {
            assert_eq!(RedisArray::route(key), route, "{key:?}");
        }
    }

    #[test]
    fn positions_scale_the_crc_onto_the_hosts() {
        let hosts: Vec<String> = (0..3).map(|i| format!("h:{i}")).collect();
        let array = RedisArray::new(&hosts, false);
        for key in [&b"a"[..], b"b", b"zz", b""] {
            let expected = (crc32fast::hash(key) as u64 * 3 / 0xffff_ffff) as usize;
            assert_eq!(array.index(key), expected);
        }
        let ring = RedisArray::new(&hosts, true);
        assert!(ring.is_consistent());
        assert!((0..1000).all(|i| ring.index(format!("k{i}").as_bytes()) < 3));
    }
}
