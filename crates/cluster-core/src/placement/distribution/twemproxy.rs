//! twemproxy (nutcracker 0.5)'s placement: the key's part between the pool's two `hash_tag`
//! characters when not empty (else the whole key), hashed by the pool's `hash:`, then either
//! `ketama` (a ring of 160 points per server at equal weights, MD5("name-i")) or `modula`
//! (`hash % total weight`, each server taking as many slots as its weight, in order). A server's
//! name is its own (`host:port:weight name`) or `host:port` (`host` alone on port 11211).

use super::continuum::{Continuum, md5_words};
use super::twemproxy_hash::KeyHash;
use crate::placement::tags::tag_between;

/// twemproxy's `distribution:` choices that place keys by hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    Ketama,
    Modula,
}

impl Dispatch {
    pub fn name(self) -> &'static str {
        match self {
            Dispatch::Ketama => "ketama",
            Dispatch::Modula => "modula",
        }
    }

    pub fn from_name(name: &str) -> Option<Dispatch> {
        [Dispatch::Ketama, Dispatch::Modula]
            .into_iter()
            .find(|d| d.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Servers {
    Ketama(Continuum),
    /// Server index per slot (`hash % slots.len()`).
    Modula(Vec<u32>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Twemproxy {
    pub hash: KeyHash,
    /// `hash_tag`'s two characters, when the pool has one.
    pub tag: Option<[u8; 2]>,
    servers: Servers,
    count: usize,
}

impl Twemproxy {
    /// For servers given as `(name, weight)` in the pool's order.
    pub fn new(
        dispatch: Dispatch,
        hash: KeyHash,
        tag: Option<[u8; 2]>,
        servers: &[(String, u32)],
    ) -> Twemproxy {
        let servers_placed = match dispatch {
            Dispatch::Ketama => Servers::Ketama(ketama_ring(servers)),
            Dispatch::Modula => Servers::Modula(
                by_name(servers)
                    .into_iter()
                    .flat_map(|index| std::iter::repeat_n(index as u32, servers[index].1 as usize))
                    .collect(),
            ),
        };
        Twemproxy {
            hash,
            tag,
            servers: servers_placed,
            count: servers.len(),
        }
    }

    /// The part of a key that is hashed (`server_pool_idx`).
    #[inline]
    pub fn route<'a>(&self, key: &'a [u8]) -> &'a [u8] {
        match self.tag {
            Some([open, close]) => tag_between(key, open, close),
            None => key,
        }
    }

    #[inline]
    pub fn index(&self, route: &[u8]) -> usize {
        if self.count == 1 {
            return 0;
        }
        // An empty key hashes to 0 without calling the hash function.
        let hash = if route.is_empty() {
            0
        } else {
            self.hash.hash(route)
        };
        match &self.servers {
            Servers::Ketama(ring) => ring.owner(hash),
            Servers::Modula(slots) => slots[hash as usize % slots.len()] as usize,
        }
    }
}

/// The servers' indexes in the order nutcracker keeps them: it sorts a pool's servers by name
/// (shorter names first, then bytewise) when it checks them for duplicates, and the modula
/// slots follow that order.
fn by_name(servers: &[(String, u32)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..servers.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (servers[a].0.as_bytes(), servers[b].0.as_bytes());
        x.len().cmp(&y.len()).then(x.cmp(y))
    });
    order
}

/// The longest server name nutcracker hashes correctly in a ketama pool of `servers`: it
/// writes `name-i` into 86 bytes (`KETAMA_MAX_HOSTLEN`, its NUL included) but hashes the
/// untruncated length, reading past what it wrote for a longer text. `i` stays below
/// 40 × servers.
pub fn ketama_name_limit(servers: usize) -> usize {
    let digits = (40 * servers.max(1)).to_string().len();
    85 - 1 - digits
}

/// `ketama_update`: each server gets `floor(weight share * 40 * servers) * 4` points, the share
/// computed in single precision as nutcracker computes it.
fn ketama_ring(servers: &[(String, u32)]) -> Continuum {
    let total: u32 = servers.iter().map(|&(_, w)| w).sum();
    let live = servers.len() as f32;
    let mut points = Vec::new();
    for (index, (name, weight)) in servers.iter().enumerate() {
        let share = *weight as f32 / total as f32;
        let scaled = share * 160.0_f32 / 4.0_f32 * live;
        let per_server = ((scaled as f64 + 0.000_000_000_1) as f32).floor() as u32 * 4;
        for i in 0..per_server / 4 {
            for word in md5_words(format!("{name}-{i}").as_bytes()) {
                points.push((word, index as u32));
            }
        }
    }
    Continuum::at_or_after(points)
}

/// A server's name in the ring when the config gives none: `host:port`, or `host` on port
/// 11211 (kept from libmemcached).
pub fn default_server_name(host: &str, port: u16) -> String {
    if port == 11211 {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(n: usize) -> Vec<(String, u32)> {
        (0..n)
            .map(|i| (format!("127.0.0.1:{}", 7000 + i), 1))
            .collect()
    }

    #[test]
    fn hash_tags_need_a_non_empty_inside() {
        let pool = Twemproxy::new(Dispatch::Modula, KeyHash::Crc32a, Some(*b"{}"), &servers(3));
        assert_eq!(pool.route(b"a{b}c"), b"b");
        assert_eq!(pool.route(b"a{}c"), b"a{}c");
        assert_eq!(pool.route(b"{a}{b}"), b"a");
        let untagged = Twemproxy::new(Dispatch::Modula, KeyHash::Crc32a, None, &servers(3));
        assert_eq!(untagged.route(b"a{b}c"), b"a{b}c");
    }

    #[test]
    fn ketama_puts_160_points_per_server_at_equal_weights() {
        for n in 2..=9 {
            let Servers::Ketama(ring) =
                Twemproxy::new(Dispatch::Ketama, KeyHash::Fnv1a64, None, &servers(n)).servers
            else {
                unreachable!()
            };
            assert_eq!(ring.len(), 160 * n, "{n} servers");
        }
    }

    #[test]
    fn modula_slots_follow_weights() {
        let weighted = vec![("a".to_owned(), 2), ("b".to_owned(), 1)];
        let pool = Twemproxy::new(Dispatch::Modula, KeyHash::Crc32a, None, &weighted);
        let hash = |k: &[u8]| crc32fast::hash(k) as usize % 3;
        for key in [&b"x"[..], b"y", b"zz"] {
            assert_eq!(pool.index(key), [0, 0, 1][hash(key)]);
        }
        assert_eq!(pool.index(b""), 0, "an empty key hashes to 0");
    }
}
