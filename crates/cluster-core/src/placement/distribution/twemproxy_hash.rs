//! twemproxy's key hash functions (its `hash:` option), bit for bit as nutcracker computes
//! them on x86-64. Several read the key through a signed `char`, so a byte >= 0x80 enters the
//! hash sign-extended (0xff.. prefixed): that is what nutcracker does, so it is what we do.

/// A hash function of twemproxy's `hash:` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyHash {
    OneAtATime,
    Md5,
    Crc32,
    Crc32a,
    Fnv164,
    Fnv1a64,
    Fnv132,
    Fnv1a32,
    Murmur,
}

impl KeyHash {
    pub const ALL: [KeyHash; 9] = [
        KeyHash::OneAtATime,
        KeyHash::Md5,
        KeyHash::Crc32,
        KeyHash::Crc32a,
        KeyHash::Fnv164,
        KeyHash::Fnv1a64,
        KeyHash::Fnv132,
        KeyHash::Fnv1a32,
        KeyHash::Murmur,
    ];

    /// The name nutcracker's config uses.
    pub fn name(self) -> &'static str {
        match self {
            KeyHash::OneAtATime => "one_at_a_time",
            KeyHash::Md5 => "md5",
            KeyHash::Crc32 => "crc32",
            KeyHash::Crc32a => "crc32a",
            KeyHash::Fnv164 => "fnv1_64",
            KeyHash::Fnv1a64 => "fnv1a_64",
            KeyHash::Fnv132 => "fnv1_32",
            KeyHash::Fnv1a32 => "fnv1a_32",
            KeyHash::Murmur => "murmur",
        }
    }

    pub fn from_name(name: &str) -> Option<KeyHash> {
        KeyHash::ALL.into_iter().find(|h| h.name() == name)
    }

    #[inline]
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            KeyHash::OneAtATime => one_at_a_time(key),
            KeyHash::Md5 => super::continuum::md5_words(key)[0],
            KeyHash::Crc32 => (crc32fast::hash(key) >> 16) & 0x7fff,
            KeyHash::Crc32a => crc32fast::hash(key),
            KeyHash::Fnv164 => fnv1_64(key),
            KeyHash::Fnv1a64 => fnv1a_64(key),
            KeyHash::Fnv132 => fnv1_32(key),
            KeyHash::Fnv1a32 => fnv1a_32(key),
            KeyHash::Murmur => murmur2(key),
        }
    }
}

/// A key byte as C reads it through a signed `char`, widened to 32 or 64 bits.
#[inline]
fn signed32(byte: u8) -> u32 {
    byte as i8 as i32 as u32
}

#[inline]
fn signed64(byte: u8) -> u64 {
    byte as i8 as i64 as u64
}

const FNV_64_INIT: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_64_PRIME: u64 = 0x0000_0100_0000_01b3;
const FNV_32_INIT: u32 = 2_166_136_261;
const FNV_32_PRIME: u32 = 16_777_619;

fn fnv1_64(key: &[u8]) -> u32 {
    let hash = key.iter().fold(FNV_64_INIT, |hash, &b| {
        hash.wrapping_mul(FNV_64_PRIME) ^ signed64(b)
    });
    hash as u32
}

/// Despite its name, 32-bit arithmetic seeded with the low half of the 64-bit constants.
fn fnv1a_64(key: &[u8]) -> u32 {
    key.iter().fold(FNV_64_INIT as u32, |hash, &b| {
        (hash ^ signed32(b)).wrapping_mul(FNV_64_PRIME as u32)
    })
}

fn fnv1_32(key: &[u8]) -> u32 {
    key.iter().fold(FNV_32_INIT, |hash, &b| {
        hash.wrapping_mul(FNV_32_PRIME) ^ signed32(b)
    })
}

fn fnv1a_32(key: &[u8]) -> u32 {
    key.iter().fold(FNV_32_INIT, |hash, &b| {
        (hash ^ signed32(b)).wrapping_mul(FNV_32_PRIME)
    })
}

fn one_at_a_time(key: &[u8]) -> u32 {
    let mut value: u32 = 0;
    for &b in key {
        value = value.wrapping_add(signed32(b));
        value = value.wrapping_add(value << 10);
        value ^= value >> 6;
    }
    value = value.wrapping_add(value << 3);
    value ^= value >> 11;
    value.wrapping_add(value << 15)
}

/// MurmurHash2 with twemproxy's seed (`0xdeadbeef * length`), reading words little-endian.
fn murmur2(key: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let length = key.len() as u32;
    let mut h = 0xdead_beef_u32.wrapping_mul(length) ^ length;
    let mut words = key.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (shift, &b) in tail.iter().enumerate().rev() {
            h ^= (b as u32) << (8 * shift);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for hash in KeyHash::ALL {
            assert_eq!(KeyHash::from_name(hash.name()), Some(hash));
        }
        assert_eq!(KeyHash::from_name("jenkins"), None);
    }

    #[test]
    fn published_fnv_values() {
        // FNV-1a 32-bit of "a" is 0xe40c292c (the reference test suite).
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1_32(b"a"), 0x050c_5d7e);
        assert_eq!(fnv1_64(b""), FNV_64_INIT as u32);
    }

    #[test]
    fn signed_bytes_change_the_hash() {
        // 0x80 read through a signed char is 0xffffff80, not 0x80.
        let unsigned = (FNV_32_INIT ^ 0x80).wrapping_mul(FNV_32_PRIME);
        assert_ne!(fnv1a_32(&[0x80]), unsigned);
        assert_eq!(
            fnv1a_32(&[0x80]),
            (FNV_32_INIT ^ 0xffff_ff80).wrapping_mul(FNV_32_PRIME)
        );
    }
}
