//! phpredis's value compression (`Redis::OPT_COMPRESSION`, `Redis::OPT_COMPRESSION_LEVEL`),
//! byte-compatible with phpredis 5.3.7 in both directions: what it writes we read, what we
//! write it reads, and for the same input and level we send the same bytes it does (checked
//! against vectors made by phpredis itself: `tests/phpredis_vectors.rs`).
//!
//! The formats, as phpredis 5.3.7 has them (`redis_compress` / `redis_uncompress`):
//!
//! * **LZF** (`COMPRESSION_LZF` = 1): a raw liblzf stream, no header. The level is ignored.
//!   Every non-empty value is compressed, even when that makes it longer (the output buffer
//!   has the PECL lzf margin, so liblzf never runs out of room); an empty value is sent empty.
//!   Reading: an empty value stays empty; anything else is decoded as LZF, and when that fails
//!   the value comes back as it is. A value that merely *looks* like LZF decodes: LZF has no
//!   checksum or magic.
//! * **ZSTD** (`COMPRESSION_ZSTD` = 2): one zstd frame (`ZSTD_compress`), its content size in
//!   the header. Level below 1: zstd's default (3); above `ZSTD_maxCLevel()` (22): 22. An empty
//!   value becomes a 9-byte empty frame. Reading: the frame's declared content size must be
//!   known and at most `i32::MAX`, and `ZSTD_decompress` (which runs through every frame in
//!   the value) must give exactly that many bytes; otherwise the value comes back as it is.
//! * **LZ4** (`COMPRESSION_LZ4` = 3): phpredis's own 5-byte header — a CRC-8 (poly 0x31, init
//!   0xFF) of the next four bytes, then the original length as a native-endian (little-endian
//!   here) `i32` — and one LZ4 block. Level 1..=12: `LZ4_compress_HC` at that level; any other
//!   level (0, negative, above 12): `LZ4_compress_default`. An empty value is sent empty (not
//!   compressed). Reading: fewer than 5 bytes, a CRC that does not match, or a block that
//!   `LZ4_decompress_safe` rejects (or decodes to nothing) leaves the value as it is. phpredis
//!   returns the header's length in bytes even when the block decodes to fewer: the rest is
//!   uninitialised memory there, zeros here.
//!
//! Two ways to read, as phpredis has two: [`uncompress`] is its reply path (GET, MGET, ...;
//! `_unpack`), which falls back to the value as it is; [`try_uncompress`] is `_uncompress`,
//! which throws (`Invalid compressed data or uncompression error`) where this returns `None`.

use std::borrow::Cow;

/// `Redis::OPT_COMPRESSION`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Lzf,
    Zstd,
    Lz4,
}

impl Compression {
    /// The codec for `Redis::COMPRESSION_*`'s value (`NONE` 0, `LZF` 1, `ZSTD` 2, `LZ4` 3).
    pub fn from_php(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::None),
            1 => Some(Self::Lzf),
            2 => Some(Self::Zstd),
            3 => Some(Self::Lz4),
            _ => None,
        }
    }

    /// `Redis::COMPRESSION_*`'s value for this codec.
    pub fn php_code(self) -> i64 {
        match self {
            Self::None => 0,
            Self::Lzf => 1,
            Self::Zstd => 2,
            Self::Lz4 => 3,
        }
    }
}

/// What phpredis sends for `value` with this codec and `OPT_COMPRESSION_LEVEL`: the value
/// itself where phpredis does not compress (no codec; LZF and LZ4 on an empty value; LZ4 on
/// more than `i32::MAX` bytes).
pub fn compress(kind: Compression, level: i64, value: &[u8]) -> Cow<'_, [u8]> {
    let out = match kind {
        Compression::None => None,
        Compression::Lzf => lzf_compress(value),
        Compression::Zstd => zstd_compress(level, value),
        Compression::Lz4 => lz4_compress(level, value),
    };
    out.map_or(Cow::Borrowed(value), Cow::Owned)
}

/// What phpredis's reply path gives for a stored `value`: decompressed, or the value as it is
/// when it does not decompress (and always with no codec).
pub fn uncompress(kind: Compression, value: &[u8]) -> Cow<'_, [u8]> {
    try_uncompress(kind, value).unwrap_or(Cow::Borrowed(value))
}

/// `_uncompress`: the decompressed value, `None` where phpredis throws. With no codec, and
/// for an empty value with any codec, the value as it is (phpredis does not try those).
pub fn try_uncompress(kind: Compression, value: &[u8]) -> Option<Cow<'_, [u8]>> {
    if value.is_empty() {
        return Some(Cow::Borrowed(value));
    }
    match kind {
        Compression::None => Some(Cow::Borrowed(value)),
        Compression::Lzf => lzf_decompress(value).map(Cow::Owned),
        Compression::Zstd => zstd_decompress(value).map(Cow::Owned),
        Compression::Lz4 => lz4_decompress(value).map(Cow::Owned),
    }
}

// ---- LZF ----

fn lzf_compress(value: &[u8]) -> Option<Vec<u8>> {
    // liblzf returns 0 (failure) for an empty input, and phpredis then sends it as it is.
    if value.is_empty() {
        return None;
    }
    // phpredis's buffer: len + max(128, len / 25) (PECL lzf's margin), never too small for
    // liblzf's worst case (len + len / 32 + 1); lzf-rust's own bound is that worst case.
    let mut out = vec![0u8; lzf_rust::max_compressed_size(value.len())];
    let n = lzf_rust::compress(value, &mut out).ok()?;
    out.truncate(n);
    Some(out)
}

/// liblzf's `lzf_decompress` with unbounded output. phpredis retries with a buffer twice as
/// large for as long as liblzf says E2BIG (output full), so its answer is the one an
/// unbounded buffer gives: the stream decodes, or it is malformed (EINVAL). lzf-rust's
/// decoder is not used because it reports a literal run past the end of the output as
/// malformed rather than as a full buffer, which would fail values phpredis reads.
fn lzf_decompress(input: &[u8]) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len() * 2);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = input.get(ip..ip + ctrl + 1)?;
            out.extend_from_slice(run);
            ip += ctrl + 1;
            continue;
        }
        // A back-reference: length in the top 3 bits (7: one more length byte follows),
        // offset's high 5 bits here, its low byte next.
        let mut len = ctrl >> 5;
        if len == 7 {
            len += usize::from(*input.get(ip)?);
            ip += 1;
        }
        let off = ((ctrl & 0x1f) << 8) | usize::from(*input.get(ip)?);
        ip += 1;
        let start = out.len().checked_sub(off + 1)?;
        // Byte by byte: the source may overlap what this copy writes (runs).
        for i in 0..len + 2 {
            let b = out[start + i];
            out.push(b);
        }
    }
    // Every token writes at least one byte, so a non-empty stream that decodes is non-empty
    // (liblzf's 0 would mean failure).
    Some(out)
}

// ---- ZSTD ----

/// zstd's default level (`ZSTD_CLEVEL_DEFAULT`), which phpredis uses for a level below 1.
const ZSTD_DEFAULT_LEVEL: i32 = 3;

fn zstd_compress(level: i64, value: &[u8]) -> Option<Vec<u8>> {
    let max = i64::from(zstd_safe::max_c_level());
    let level = if level < 1 {
        ZSTD_DEFAULT_LEVEL
    } else {
        // In 1..=max, so it fits.
        level.min(max) as i32
    };
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(value.len()));
    zstd_safe::compress(&mut out, value, level).ok()?;
    Some(out)
}

fn zstd_decompress(value: &[u8]) -> Option<Vec<u8>> {
    // Error and unknown content size both fail, as does a size above INT_MAX.
    let size = zstd_safe::get_frame_content_size(value).ok()??;
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s <= i32::MAX as usize)?;
    let mut out = Vec::with_capacity(size);
    let n = zstd_safe::decompress(&mut out, value).ok()?;
    (n == size).then_some(out)
}

// ---- LZ4 ----

/// phpredis's LZ4 header: a CRC-8 byte, then the original length as a native `int`.
const LZ4_HEADER: usize = 5;
/// `LZ4HC_CLEVEL_MAX`: levels 1..=12 mean LZ4 HC at that level.
const LZ4HC_MAX_LEVEL: i64 = 12;

/// phpredis's CRC-8 over the length's bytes: polynomial 0x31, initial value 0xFF, MSB first,
/// no reflection, no final XOR.
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc: u8 = 0xff;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x31
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn lz4_compress(level: i64, value: &[u8]) -> Option<Vec<u8>> {
    // Empty values and values of more than INT_MAX bytes are sent as they are.
    if value.is_empty() {
        return None;
    }
    let len = i32::try_from(value.len()).ok()?;
    let mode = if (1..=LZ4HC_MAX_LEVEL).contains(&level) {
        lz4::block::CompressionMode::HIGHCOMPRESSION(level as i32)
    } else {
        lz4::block::CompressionMode::DEFAULT
    };
    let bound = lz4::block::compress_bound(value.len()).ok()?;
    let mut out = vec![0u8; LZ4_HEADER + bound];
    let len_bytes = len.to_ne_bytes();
    out[0] = crc8(&len_bytes);
    out[1..LZ4_HEADER].copy_from_slice(&len_bytes);
    let n = lz4::block::compress_to_buffer(value, Some(mode), false, &mut out[LZ4_HEADER..])
        .ok()
        .filter(|&n| n > 0)?;
    out.truncate(LZ4_HEADER + n);
    Some(out)
}

fn lz4_decompress(value: &[u8]) -> Option<Vec<u8>> {
    if value.len() < LZ4_HEADER || value.len() - LZ4_HEADER > i32::MAX as usize {
        return None;
    }
    let len_bytes: [u8; 4] = value[1..LZ4_HEADER].try_into().ok()?;
    if crc8(&len_bytes) != value[0] {
        return None;
    }
    // A negative length makes phpredis ask for an impossible allocation (a fatal error
    // there); here it is a value that does not decompress.
    let len = i32::from_ne_bytes(len_bytes);
    let size = usize::try_from(len).ok()?;
    // Zeroed, so that a block decoding to fewer bytes than the header says leaves zeros where
    // phpredis leaves uninitialised memory (it keeps the header's length either way).
    let mut out = vec![0u8; size];
    let n = lz4::block::decompress_to_buffer(&value[LZ4_HEADER..], Some(len), &mut out).ok()?;
    (n > 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_codes_round_trip() {
        for kind in [
            Compression::None,
            Compression::Lzf,
            Compression::Zstd,
            Compression::Lz4,
        ] {
            assert_eq!(Compression::from_php(kind.php_code()), Some(kind));
        }
        assert_eq!(Compression::from_php(4), None);
        assert_eq!(Compression::from_php(-1), None);
    }

    #[test]
    fn none_borrows() {
        let v = b"abc".as_slice();
        assert!(matches!(
            compress(Compression::None, 0, v),
            Cow::Borrowed(_)
        ));
        assert!(matches!(uncompress(Compression::None, v), Cow::Borrowed(_)));
        assert!(matches!(uncompress(Compression::Lz4, v), Cow::Borrowed(_)));
    }

    #[test]
    fn crc8_matches_phpredis_headers() {
        // From phpredis: a 1-byte value has header 4c 01 00 00 00, 10 bytes cc 0a 00 00 00.
        assert_eq!(crc8(&1i32.to_le_bytes()), 0x4c);
        assert_eq!(crc8(&10i32.to_le_bytes()), 0xcc);
    }

    #[test]
    fn lzf_decoder_grows_past_twice_the_input() {
        let zeros = vec![0u8; 100_000];
        let packed = compress(Compression::Lzf, 0, &zeros);
        assert!(packed.len() * 2 < zeros.len());
        assert_eq!(uncompress(Compression::Lzf, &packed), zeros.as_slice());
    }

    #[test]
    fn lzf_malformed_streams_fail() {
        assert_eq!(lzf_decompress(b"\x05abc"), None); // literal run past the input
        assert_eq!(lzf_decompress(b"\x00a\x20\x05"), None); // reference before the output
        assert_eq!(lzf_decompress(b"\x00a\xe0"), None); // missing length byte
        assert_eq!(lzf_decompress(b"\x00a\x20"), None); // missing offset byte
        assert_eq!(
            lzf_decompress(b"\x00a\x20\x00").as_deref(),
            Some(&b"aaaa"[..])
        );
    }
}
