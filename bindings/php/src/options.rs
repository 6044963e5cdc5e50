//! phpredis's client options (`setOption` / `getOption`), with phpredis's constant values so
//! code written with `Redis::OPT_*` works unchanged, plus `OPT_THROW_ERRORS`, ours.

use std::sync::Arc;

use ext_php_rs::types::Zval;

use crate::codec::{Codec, Serializer};
use crate::compress::Compression;
use crate::convert::arg;

pub const OPT_SERIALIZER: i64 = 1;
pub const OPT_PREFIX: i64 = 2;
pub const OPT_READ_TIMEOUT: i64 = 3;
pub const OPT_SCAN: i64 = 4;
pub const OPT_TCP_KEEPALIVE: i64 = 6;
pub const OPT_COMPRESSION: i64 = 7;
pub const OPT_REPLY_LITERAL: i64 = 8;
pub const OPT_COMPRESSION_LEVEL: i64 = 9;
pub const OPT_NULL_MULTIBULK_AS_NULL: i64 = 10;
pub const OPT_MAX_RETRIES: i64 = 11;
pub const OPT_BACKOFF_ALGORITHM: i64 = 12;
pub const OPT_BACKOFF_BASE: i64 = 13;
pub const OPT_BACKOFF_CAP: i64 = 14;
/// Ours: every error throws (a server's error reply as `RedisCluster\ServerException`)
/// instead of phpredis's `false` + `getLastError()`.
pub const OPT_THROW_ERRORS: i64 = 1001;

pub const SCAN_NORETRY: i64 = 0;
pub const SCAN_RETRY: i64 = 1;
pub const SCAN_PREFIX: i64 = 2;
pub const SCAN_NOPREFIX: i64 = 3;

/// phpredis's `BACKOFF_ALGORITHM_*` values (0..=6).
const BACKOFF_ALGORITHMS: std::ops::RangeInclusive<i64> = 0..=6;

/// One client's options. They change how this object talks, never the shared engine.
#[derive(Clone, Debug)]
pub struct Options {
    pub codec: Codec,
    /// Put before every key argument, as phpredis does before sending (so before placement).
    /// Shared, so that a call's snapshot of the options costs no copy.
    pub prefix: Arc<[u8]>,
    /// `SCAN_RETRY`: a SCAN step with no keys is not returned, the walk goes on.
    pub scan_retry: bool,
    /// `SCAN_PREFIX`: `scan()` matches `prefix . pattern`.
    pub scan_prefix: bool,
    /// Status replies as their text ("OK") rather than `true`.
    pub reply_literal: bool,
    /// A nil multi-bulk reply (`*-1`) as `null` rather than `[]`.
    pub null_multibulk_as_null: bool,
    pub throw_errors: bool,
    pub read_timeout: f64,
    pub tcp_keepalive: i64,
    /// Kept for `getOption`: the engine's own reconnect policy (a failed node is retried with
    /// backoff by the health checker) applies whatever they say.
    pub max_retries: i64,
    pub backoff_algorithm: i64,
    pub backoff_base: i64,
    pub backoff_cap: i64,
}

impl Options {
    pub fn new(read_timeout: f64) -> Options {
        Options {
            codec: Codec::default(),
            prefix: Arc::from(&b""[..]),
            scan_retry: false,
            scan_prefix: false,
            reply_literal: false,
            null_multibulk_as_null: false,
            throw_errors: false,
            read_timeout,
            tcp_keepalive: 0,
            max_retries: 10,
            backoff_algorithm: 0,
            backoff_base: 10,
            backoff_cap: 1000,
        }
    }

    /// A key as sent: the prefix, then the key.
    pub fn key(&self, key: Vec<u8>) -> Vec<u8> {
        if self.prefix.is_empty() {
            return key;
        }
        let mut out = Vec::with_capacity(self.prefix.len() + key.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&key);
        out
    }

    /// What changes: `Some(new read timeout)` when the engine must be rebuilt with it (the
    /// caller sets `read_timeout` once the engine is). `Err(())` is phpredis's `false`: an
    /// unknown option or a value it refuses.
    pub fn set(&mut self, option: i64, value: &Zval) -> Result<Option<f64>, ()> {
        let value = value.dereference();
        let int = || integer(value).ok_or(());
        match option {
            OPT_SERIALIZER => {
                self.codec.serializer = Serializer::from_php(int()?).ok_or(())?;
            }
            OPT_PREFIX => self.prefix = arg(value).map_err(|_| ())?.into(),
            OPT_COMPRESSION => {
                self.codec.compression = Compression::from_php(int()?).ok_or(())?;
            }
            OPT_COMPRESSION_LEVEL => self.codec.level = int()?,
            OPT_SCAN => match int()? {
                SCAN_NORETRY => self.scan_retry = false,
                SCAN_RETRY => self.scan_retry = true,
                SCAN_PREFIX => self.scan_prefix = true,
                SCAN_NOPREFIX => self.scan_prefix = false,
                _ => return Err(()),
            },
            OPT_REPLY_LITERAL => self.reply_literal = value.coerce_to_bool(),
            OPT_NULL_MULTIBULK_AS_NULL => self.null_multibulk_as_null = value.coerce_to_bool(),
            OPT_THROW_ERRORS => self.throw_errors = value.coerce_to_bool(),
            // phpredis: 0 or a negative value (-1, the usual one for pub/sub) waits forever.
            OPT_READ_TIMEOUT => {
                let seconds = float(value).ok_or(())?;
                if seconds.is_nan() {
                    return Err(());
                }
                return Ok(Some(seconds));
            }
            OPT_TCP_KEEPALIVE => self.tcp_keepalive = int()?,
            OPT_MAX_RETRIES => self.max_retries = int()?.max(0),
            OPT_BACKOFF_ALGORITHM => {
                let algorithm = int()?;
                if !BACKOFF_ALGORITHMS.contains(&algorithm) {
                    return Err(());
                }
                self.backoff_algorithm = algorithm;
            }
            OPT_BACKOFF_BASE => self.backoff_base = int()?.max(0),
            OPT_BACKOFF_CAP => self.backoff_cap = int()?.max(0),
            _ => return Err(()),
        }
        Ok(None)
    }

    /// The option's value as phpredis gives it; `None` (phpredis's `false`) for an unknown one.
    pub fn get(&self, option: i64) -> Option<Zval> {
        let mut out = Zval::new();
        match option {
            OPT_SERIALIZER => out.set_long(self.codec.serializer as i64),
            OPT_PREFIX => {
                if self.prefix.is_empty() {
                    out.set_null();
                } else {
                    out.set_binary(self.prefix.to_vec());
                }
            }
            OPT_COMPRESSION => out.set_long(self.codec.compression.php_code()),
            OPT_COMPRESSION_LEVEL => out.set_long(self.codec.level),
            OPT_SCAN => out.set_long(if self.scan_retry {
                SCAN_RETRY
            } else {
                SCAN_NORETRY
            }),
            OPT_REPLY_LITERAL => out.set_bool(self.reply_literal),
            OPT_NULL_MULTIBULK_AS_NULL => out.set_bool(self.null_multibulk_as_null),
            OPT_THROW_ERRORS => out.set_bool(self.throw_errors),
            OPT_READ_TIMEOUT => out.set_double(self.read_timeout),
            OPT_TCP_KEEPALIVE => out.set_long(self.tcp_keepalive),
            OPT_MAX_RETRIES => out.set_long(self.max_retries),
            OPT_BACKOFF_ALGORITHM => out.set_long(self.backoff_algorithm),
            OPT_BACKOFF_BASE => out.set_long(self.backoff_base),
            OPT_BACKOFF_CAP => out.set_long(self.backoff_cap),
            _ => return None,
        }
        Some(out)
    }
}

/// An integer option value, from an int or numeric string (`"1"`), as PHP's `zval_get_long`.
fn integer(value: &Zval) -> Option<i64> {
    if let Some(int) = value.long() {
        return Some(int);
    }
    if let Some(flag) = value.bool() {
        return Some(i64::from(flag));
    }
    if let Some(float) = value.double() {
        return Some(float as i64);
    }
    value.str().and_then(|s| s.trim().parse().ok())
}

fn float(value: &Zval) -> Option<f64> {
    if let Some(float) = value.double() {
        return Some(float);
    }
    if let Some(int) = value.long() {
        return Some(int as f64);
    }
    value.str().and_then(|s| s.trim().parse().ok())
}
