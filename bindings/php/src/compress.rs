//! phpredis's `OPT_COMPRESSION` / `OPT_COMPRESSION_LEVEL` codecs (LZF, ZSTD, LZ4), byte-
//! compatible with phpredis 5.3.7 both ways. The codecs live in `crates/php-codecs`, where
//! their tests run against vectors made by phpredis itself (this crate has `test = false`).
//!
//! * [`compress`]: what phpredis sends for a value at a level (the value itself where it does
//!   not compress: no codec, or an empty value with LZF or LZ4).
//! * [`uncompress`]: what its reply path (GET, MGET, ...) returns: decompressed, or the value
//!   as it is when it does not decompress.
//! * [`try_uncompress`]: `_uncompress`, `None` where phpredis throws
//!   "Invalid compressed data or uncompression error".

pub use php_codecs::{Compression, compress, try_uncompress, uncompress};
